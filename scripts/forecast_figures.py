"""Figures for docs/forecasting.md from a stored backtest (``quaywatch backtest``).

    DATABASE_URL=... python scripts/forecast_figures.py [BACKTEST_ID] [--out docs/img]

Writes ``deadline_tradeoff.png`` (precision against median lead of the static rules and the
breach model, per scope) and ``threshold_f1.png`` (F1 of the chosen Prophet rule and each
baseline, per indicator).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

BASELINES = ("seasonal_naive_24h", "seasonal_naive_168h", "linear_6h", "persistence")


def load(url: str, backtest_id: int | None) -> pd.DataFrame:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        if backtest_id is None:
            backtest_id = conn.execute(
                text("SELECT max(backtest_id) FROM backtest_run WHERE source = 'history'")
            ).scalar()
        rows = conn.execute(
            text("SELECT * FROM backtest_result WHERE backtest_id = :b"), {"b": backtest_id}
        ).mappings()
        return pd.DataFrame([dict(r) for r in rows])


def deadline_tradeoff(results: pd.DataFrame, out: Path) -> None:
    scopes = [s for s in ("all", "incidents") if s in set(results["scope"])]
    fig, axes = plt.subplots(1, len(scopes), figsize=(5.2 * len(scopes), 4), dpi=110)
    for ax, scope in zip(list(axes) if len(scopes) > 1 else [axes], scopes, strict=True):
        part = results[(results["kind"] == "deadline") & (results["scope"] == scope)]
        for prefix, style in (
            ("static: ", "o--"),
            ("model p", "s-"),
            ("model+congestion", "^-"),
        ):
            rows = part[part["method"].str.startswith(prefix)].sort_values("median_lead_hours")
            label = {"static: ": "static rules", "model p": "breach model"}.get(
                prefix, "breach model + congestion"
            )
            ax.plot(rows["median_lead_hours"], rows["precision"], style, label=label)
            for _, r in rows.iterrows():
                tag = r["method"].split(":")[-1].replace("of the limit", "").strip()
                tag = tag.replace("model+congestion ", "").replace("model ", "")
                ax.annotate(tag, (r["median_lead_hours"], r["precision"]), fontsize=6)
        ax.set_title(f"deadline warnings, {scope}")
        ax.set_xlabel("median lead before breach (h)")
        ax.set_ylabel("precision")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "deadline_tradeoff.png")
    plt.close(fig)


def threshold_f1(results: pd.DataFrame, out: Path) -> None:
    part = results[results["kind"] == "threshold"]
    subjects = sorted(part["subject"].unique())
    chosen = part[part["chosen"]].set_index("subject")["f1"]
    fig, ax = plt.subplots(figsize=(11, 4), dpi=110)
    width = 0.8 / (1 + len(BASELINES))
    for i, name in enumerate(("prophet (chosen rule)", *BASELINES)):
        if i == 0:
            values = [chosen.get(s, float("nan")) for s in subjects]
        else:
            rows = part[part["method"] == name].set_index("subject")["f1"]
            values = [rows.get(s, float("nan")) for s in subjects]
        ax.bar([x + i * width for x in range(len(subjects))], values, width, label=name)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(subjects))])
    ax.set_xticklabels(subjects, rotation=35, ha="right", fontsize=7)
    ax.set_ylabel("F1 (24 h ahead)")
    ax.set_title("Threshold-crossing warnings on simulated history, per indicator")
    ax.legend(fontsize=7, ncol=5)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "threshold_f1.png")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backtest_id", nargs="?", type=int)
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args()
    results = load(os.environ["DATABASE_URL"], args.backtest_id)
    args.out.mkdir(parents=True, exist_ok=True)
    deadline_tradeoff(results, args.out)
    threshold_f1(results, args.out)


if __name__ == "__main__":
    main()
