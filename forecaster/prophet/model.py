"""Prophet fit / predict / serialize for one hourly series, with no database access.

Contract: ``fit(history[ds, y]) -> FittedModel`` and ``predict(model, hours) -> DataFrame`` with
exactly the columns ``ds, yhat, yhat_lower, yhat_upper`` (horizon rows only, naive port-local
``ds``). Models are versioned artifacts: ``to_json``/``from_json`` wrap prophet's serializer
with our own ``format_version`` (STYLE.md G12); ``tests/forecaster/prophet/fixtures/model_v1.json``
must keep loading.

Why the defaults (measurements in shared/reference/forecasting.md §1): with MAP fitting the
Prophet band is trend-change simulation plus N(0, sigma_obs) noise (§2.8), so with
``uncertainty_samples=0`` we compute the same band analytically from the fitted parameters.
That skips the Monte-Carlo step, which is most of predict time (reference: 79 ms with 1000 draws
vs 13 ms with none at n=336), and makes bands deterministic. On synthetic 672-point series the
analytic band is within 3 % of the 1000-draw band and has the same out-of-sample coverage.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import numpy as np
import pandas as pd

from forecaster.crossings.threshold_crossing import interval_z
from forecaster.errors import ForecastSkipped, ModelFormatError
from forecaster.holidays import holidays_overlapping
from forecaster.prophet.speedups import components, fast_backend, fast_prophet, history_features

FORMAT_VERSION = 1
_READABLE_VERSIONS = frozenset({1})
COLUMNS = ["ds", "yhat", "yhat_lower", "yhat_upper"]


@dataclass(frozen=True)
class ProphetConfig:
    """Model settings for one series; defaults are the fastest that keep bands meaningful.

    :param changepoint_prior_scale: trend flexibility (Prophet default 0.05); larger also widens
        the band.
    :param changepoint_range: share of history where changepoints may sit; 0.9 instead of 0.8 so
        a ramp in the last days of a 28-day window is not treated as noise (reference §2.2).
    :param n_changepoints: potential trend changepoints (Prophet default 25).
    :param seasonality_mode: ``"additive"`` or ``"multiplicative"``.
    :param daily_seasonality: 24 h cycle, forced on (auto needs >= 2 days of history).
    :param weekly_seasonality: 168 h cycle, forced on (auto turns it off below 14 days,
        and 336 hourly points span only 13 d 23 h).
    :param yearly_seasonality: off: 28-56 day windows cannot learn a yearly cycle.
    :param holidays: add the Chinese port holidays (``forecaster.holidays``) whose windows
        overlap the history (a fit with Spring Festival in the window costs about 2x).
    :param holidays_prior_scale: holiday effect flexibility (Prophet default 10).
    :param interval_width: central probability of ``[yhat_lower, yhat_upper]``.
    :param uncertainty_samples: 0 = analytic normal band from the MAP fit (fast, deterministic);
        > 0 = Prophet's Monte-Carlo band with that many draws (+15 ms at 100, +60 ms at 1000).
    :param non_negative: clip yhat and the band at 0 (counts; Prophet goes negative, §2.3).
    :param residual_ar: carry the last in-sample residual into the forecast, decaying at the
        residuals' lag-1 autocorrelation (an AR(1) on Prophet's errors). Prophet places no
        changepoint in the last ``1 - changepoint_range`` of the window (2.8 days of 28), so a
        level change there is smoothed away and the forecast starts far from the last value
        (500 lots below it at Yangshan's gate outage); this keeps recent changes visible.
    :param min_history_points: fewer usable rows raise ``ForecastSkipped``.
    :param seed: seeds numpy's global RNG during Monte-Carlo predict so bands are reproducible.
    """

    changepoint_prior_scale: float = 0.05
    changepoint_range: float = 0.9
    n_changepoints: int = 25
    seasonality_mode: Literal["additive", "multiplicative"] = "additive"
    daily_seasonality: bool = True
    weekly_seasonality: bool = True
    yearly_seasonality: bool = False
    holidays: bool = True
    holidays_prior_scale: float = 10.0
    interval_width: float = 0.8
    uncertainty_samples: int = 0
    non_negative: bool = True
    residual_ar: bool = True
    min_history_points: int = 72
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.interval_width < 1.0:
            raise ValueError(f"interval_width must be in (0, 1), got {self.interval_width}")
        if self.min_history_points < 2:
            raise ValueError("min_history_points must be >= 2 (Prophet's own minimum)")


@dataclass(frozen=True)
class FittedModel:
    """A fitted Prophet object plus the config it was fitted with."""

    prophet: Any
    config: ProphetConfig

    @property
    def last_ds(self) -> pd.Timestamp:
        """Last timestamp of the training history; forecasts start after it."""
        return pd.Timestamp(self.prophet.history["ds"].max())

    @property
    def n_points(self) -> int:
        """Number of usable history rows the model was fitted on."""
        return len(self.prophet.history)


def silence_stan_logging() -> None:
    """Mute cmdstanpy/prophet chatter at logger level; idempotent, safe to call per worker.

    ``setLevel`` alone does not work: cmdstanpy's lru-cached ``get_logger`` resets the level on
    first use (cmdstanpy#665), so we use ``cmdstanpy.disable_logging()``.
    """
    logging.getLogger("prophet.plot").disabled = True  # "Importing plotly failed" at import
    import cmdstanpy

    cmdstanpy.disable_logging()
    logging.getLogger("prophet").setLevel(logging.WARNING)


@contextmanager
def _quiet_fds() -> Iterator[None]:
    """Send fd 1/2 to /dev/null while Stan runs (Merlion's approach, citing prophet#223).

    Process-wide: output of other threads is dropped for the ~0.1 s of a fit.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def clean(history: pd.DataFrame, cfg: ProphetConfig) -> pd.DataFrame:
    """Sorted, de-duplicated rows with a finite ``y``; late rows for an existing ds win."""
    if not {"ds", "y"} <= set(history.columns):
        raise ValueError("history needs columns 'ds' and 'y'")
    df = pd.DataFrame({"ds": pd.to_datetime(history["ds"]), "y": history["y"]})
    if df["ds"].dt.tz is not None:
        raise ValueError("ds is timezone-aware; convert to port-local time and drop the tz")
    df["y"] = pd.to_numeric(df["y"], errors="coerce").replace([np.inf, -np.inf], np.nan)
    df = df.dropna().drop_duplicates("ds", keep="last").sort_values("ds", ignore_index=True)
    if len(df) < cfg.min_history_points:
        raise ForecastSkipped(
            f"{len(df)} usable points, min_history_points is {cfg.min_history_points}"
        )
    return df


def new_prophet(cfg: ProphetConfig, df: pd.DataFrame, **options: Any) -> Any:
    """An unfitted Prophet with ``cfg``'s settings and the holidays overlapping ``df``;
    ``options`` are more constructor arguments (``changepoints`` for a stored fit)."""
    silence_stan_logging()
    return fast_prophet()(
        changepoint_prior_scale=cfg.changepoint_prior_scale,
        changepoint_range=cfg.changepoint_range,
        n_changepoints=cfg.n_changepoints,
        seasonality_mode=cfg.seasonality_mode,
        daily_seasonality=cfg.daily_seasonality,
        weekly_seasonality=cfg.weekly_seasonality,
        yearly_seasonality=cfg.yearly_seasonality,
        holidays=holidays_overlapping(df["ds"]) if cfg.holidays else None,
        holidays_prior_scale=cfg.holidays_prior_scale,
        interval_width=cfg.interval_width,
        uncertainty_samples=cfg.uncertainty_samples,
        **options,
    )


def fit(
    history: pd.DataFrame,
    cfg: ProphetConfig | None = None,
    warm_start: dict[str, Any] | None = None,
) -> FittedModel:
    """Fit one series. ``history`` has ``ds`` (naive local time) and ``y``; NaN ``y`` rows,
    duplicates and out-of-order rows are tolerated.

    ``warm_start`` is a ``warm_start_params`` dict from the previous fit; Prophet falls back to
    its default init for any parameter whose shape changed. Raises ``ForecastSkipped`` when
    fewer than ``cfg.min_history_points`` rows remain, ``ValueError`` on a malformed frame.
    """
    cfg = cfg or ProphetConfig()
    df = clean(history, cfg)
    model = new_prophet(cfg, df)
    model.stan_backend = fast_backend()  # same Stan model, faster input files (speedups)
    kwargs = {}
    if warm_start:  # prophet's sanitize_custom_inits compares .shape, so arrays, not lists
        kwargs["init"] = {k: np.asarray(v, dtype=float) for k, v in warm_start.items()}
    with _quiet_fds():
        model.fit(df, **kwargs)
    return FittedModel(model, cfg)


def warm_start_params(model: FittedModel) -> dict[str, Any]:
    """JSON-ready ``k, m, sigma_obs, delta, beta`` (a few KB) to pass as the next ``warm_start``.

    Recipe from Prophet's "Updating fitted models" docs. Measured gain is 0-30 % (none below
    ~1000 points, reference §1.2), so store this, not the 317 KiB model, if only warm start is
    needed.
    """
    params = model.prophet.params
    out: dict[str, Any] = {k: float(np.ravel(params[k])[0]) for k in ("k", "m", "sigma_obs")}
    out.update({k: np.ravel(params[k]).astype(float).tolist() for k in ("delta", "beta")})
    return out


def _analytic_sigma(model: Any, raw: pd.DataFrame) -> np.ndarray:
    """Normal approximation of Prophet's MAP predictive spread, per row, in y units.

    Noise is N(0, sigma_obs). Future trend changes arrive at rate S per unit of scaled time with
    Laplace(0, lam) slope shifts, lam = mean |delta| (``_sample_uncertainty``); the level
    variance that accumulates after the history end (t = 1) is (2/3) S lam^2 (t - 1)^3.
    """
    p = model.params
    sigma_obs = float(np.ravel(p["sigma_obs"])[0])
    lam = float(np.mean(np.abs(np.ravel(p["delta"])))) + 1e-8
    t = ((raw["ds"] - model.start) / model.t_scale).to_numpy(dtype=float)
    trend_var = (2.0 / 3.0) * len(model.changepoints_t) * lam**2 * np.clip(t - 1.0, 0, None) ** 3
    scale = 1.0 + raw["multiplicative_terms"].to_numpy(dtype=float)
    sigma = float(model.y_scale) * np.sqrt(sigma_obs**2 + trend_var * scale**2)
    return np.asarray(sigma, dtype=float)


def _point_forecast(
    m: Any, future: pd.DataFrame, features: tuple[np.ndarray, np.ndarray] | None = None
) -> pd.DataFrame:
    """Prophet's point forecast and components: numpy where supported, else Prophet's own."""
    try:
        return components(m, future["ds"], features)
    except ValueError:
        return m.predict(future)


def _residual_carry(m: Any, steps: int) -> np.ndarray:
    """AR(1) forecast of Prophet's in-sample error for the next ``steps`` rows: r_T * phi^h,
    phi the lag-1 autocorrelation of the residuals clipped to [0, 0.99] (a series whose errors
    alternate gets no carry)."""
    history = m.history
    in_sample = history_features(m)  # the fit's own matrix of these rows, when it kept one
    fitted = _point_forecast(m, history[["ds"]], in_sample)["yhat"].to_numpy(dtype=float)
    return residual_carry(history["y"].to_numpy(dtype=float) - fitted, steps)


def residual_carry(resid: np.ndarray, steps: int) -> np.ndarray:
    """The AR(1) forecast of in-sample errors ``resid`` for the next ``steps`` rows (see
    ``_residual_carry``)."""
    if len(resid) < 3 or not np.isfinite(resid).all() or resid.std() == 0:
        return np.zeros(steps)
    phi = float(np.clip(np.corrcoef(resid[:-1], resid[1:])[0, 1], 0.0, 0.99))
    return np.asarray(resid[-1] * phi ** np.arange(1, steps + 1), dtype=float)


def predict(model: FittedModel, horizon_hours: int, freq: str = "h") -> pd.DataFrame:
    """Forecast the ``horizon_hours`` after the last history timestamp, every ``freq``.

    Returns only the future rows, columns ``ds, yhat, yhat_lower, yhat_upper``; values are
    clipped at 0 when ``config.non_negative``.
    """
    cfg, m = model.config, model.prophet
    last = model.last_ds
    grid = pd.date_range(last, last + pd.Timedelta(hours=horizon_hours), freq=freq)
    future = pd.DataFrame({"ds": grid[grid > last]})
    if cfg.uncertainty_samples:
        state = np.random.get_state()  # Prophet samples from numpy's global RNG
        np.random.seed(cfg.seed)
        try:
            raw = m.predict(future)
        finally:
            np.random.set_state(state)
        values = raw[COLUMNS[1:]].to_numpy(dtype=float)
    else:
        raw = _point_forecast(m, future)
        yhat = raw["yhat"].to_numpy(dtype=float)
        half = interval_z(cfg.interval_width) * _analytic_sigma(m, raw)
        values = np.column_stack([yhat, yhat - half, yhat + half])
    if cfg.residual_ar:
        values = values + _residual_carry(m, len(future))[:, None]
    if cfg.non_negative:
        values = np.clip(values, 0.0, None)
    out = pd.DataFrame(values, columns=COLUMNS[1:])
    # A reloaded model yields ns, a fresh pandas-3 fit us: one unit keeps outputs comparable.
    out.insert(0, "ds", future["ds"].to_numpy().astype("datetime64[ns]"))
    return out


def to_json(model: FittedModel) -> str:
    """Serialize as ``{"format_version", "config", "prophet": <prophet.serialize dict>}``.

    The ``prophet`` member is exactly what ``prophet.serialize.model_to_json`` writes (we use its
    ``model_to_dict`` to avoid JSON-in-JSON). Size grows with history: ~317 KiB at n=2000.
    """
    from prophet.serialize import model_to_dict

    doc = {
        "format_version": FORMAT_VERSION,
        "config": asdict(model.config),
        "prophet": model_to_dict(model.prophet),
    }
    return json.dumps(doc)


def from_json(text: str) -> FittedModel:
    """Load a model written by ``to_json`` of this or any older format version.

    Raises ``ModelFormatError`` for text that is not ours or has an unknown ``format_version``.
    Config keys this build does not know are ignored; missing ones take today's defaults.
    """
    doc = json.loads(text)
    version = doc.get("format_version") if isinstance(doc, dict) else None
    if version is None:
        raise ModelFormatError("not a QuayWatch forecaster model: no format_version")
    if version not in _READABLE_VERSIONS:
        raise ModelFormatError(
            f"unknown format_version {version!r}; this build reads {sorted(_READABLE_VERSIONS)}"
        )
    silence_stan_logging()
    from prophet.serialize import model_from_dict

    known = {f.name for f in fields(ProphetConfig)}
    # Options added after a model was written keep that model's behaviour: off.
    stored = {"residual_ar": False, **doc["config"]}
    cfg = ProphetConfig(**{k: v for k, v in stored.items() if k in known})
    return FittedModel(model_from_dict(doc["prophet"]), cfg)
