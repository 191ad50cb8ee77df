"""Jinja2 rendering and byte-limit splitting, shared by the text channels; writes nothing.

Templates live in ``templates/`` beside this module and are named ``<kind>.<fmt>.j2``; the
wording shared by every IM channel is in ``title.<lang>.j2`` and ``body.<lang>.j2`` (G4).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import jinja2

Measure = Callable[[str], int]

# Appended to each part of a split message; the reserve fits up to "(999/999)".
PART_MARKER = "\n\n({index}/{total})"
_MARKER_RESERVE = PART_MARKER.format(index=999, total=999)


def slack_escape(text: str) -> str:
    # Slack mrkdwn treats &, < and > as control characters; everything else is literal.
    # https://api.slack.com/reference/surfaces/formatting#escaping
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _helpers(dialect: str) -> dict[str, Callable[..., str]]:
    """Markup helpers for templates: bold(text), link(url, text), esc(text)."""
    if dialect == "slack":
        return {
            "esc": slack_escape,
            "bold": lambda text: f"*{slack_escape(str(text))}*",
            "link": lambda url, text: f"<{url}|{slack_escape(str(text))}>",
        }
    if dialect == "markdown":  # DingTalk, WeCom and Feishu lark_md share this subset
        return {
            "esc": str,
            "bold": lambda text: f"**{text}**",
            "link": lambda url, text: f"[{text}]({url})",
        }
    return {"esc": str, "bold": str, "link": lambda url, text: f"{text} ({url})"}


@functools.cache
def environment() -> jinja2.Environment:
    """The template environment, built on first use (nothing is loaded at import)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("alerter.channels", "templates"),
        autoescape=False,  # output is markdown or plain text, never HTML
        undefined=jinja2.StrictUndefined,  # a misspelt context key fails the test, not the page
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_text(name: str, context: Mapping[str, Any], *, dialect: str = "plain") -> str:
    """Render one template with the shared context; blank-line runs are collapsed."""
    text = environment().get_template(name).render({**context, **_helpers(dialect)})
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def json_len(text: str) -> int:
    """Bytes ``text`` takes inside a JSON string sent with ensure_ascii=False."""
    return utf8_len(json.dumps(text, ensure_ascii=False)) - 2


def _pieces(line: str, room: int, measure: Measure) -> list[str]:
    """Cut a line longer than ``room`` between characters (never inside a UTF-8 sequence)."""
    if measure(line) <= room:
        return [line]
    pieces, current, size = [], "", 0
    for char in line:
        cost = measure(char)
        if current and size + cost > room:
            pieces.append(current)
            current, size = "", 0
        current, size = current + char, size + cost
    return [*pieces, current]


def split_text(text: str, budget: int, measure: Measure = utf8_len) -> list[str]:
    """Split ``text`` so each part, numbered "(i/n)", measures at most ``budget``.

    Parts break on line boundaries; only a single line longer than a part is cut inside.
    ``measure`` must be additive over concatenation (UTF-8 bytes, JSON-escaped bytes).
    """
    if measure(text) <= budget:
        return [text]
    room = budget - measure(_MARKER_RESERVE)
    if room <= 0:
        raise ValueError(f"budget {budget} leaves no room for text")
    chunks: list[list[str]] = [[]]
    size, newline = 0, measure("\n")
    for line in text.split("\n"):
        for piece in _pieces(line, room, measure):
            cost = measure(piece) + (newline if chunks[-1] else 0)
            if chunks[-1] and size + cost > room:
                chunks.append([])
                cost = measure(piece)
                size = 0
            chunks[-1].append(piece)
            size += cost
    parts = [p for p in ("\n".join(c).strip("\n") for c in chunks) if p]
    total = len(parts)
    return [p + PART_MARKER.format(index=i, total=total) for i, p in enumerate(parts, 1)]


def number_title(title: str, index: int, total: int) -> str:
    """The title of part ``index`` of ``total``; unchanged for a message sent whole."""
    return title if total == 1 else f"{title} ({index}/{total})"
