"""Strict decoding of request bodies: what a JSON body means is never guessed or altered.

Every JSON body the API reads goes through here, so every route refuses the same things, with a
400 naming the reason (or, in an NDJSON batch, that line's own error while the other lines are
kept):

- bytes that are not UTF-8 (the reason names the byte offset in the body; nothing is replaced
  with U+FFFD);
- nesting deeper than ``MAX_DEPTH`` arrays/objects, found by a linear scan *before* json.loads
  runs, so the parser never recurses deeply (10,000 levels used to raise RecursionError);
- the same key twice in one object (``{"kind": "arrived", "kind": "removed"}`` has no single
  meaning; json.loads would silently keep the last one);
- ``NaN``, ``Infinity`` and ``-Infinity``, and numbers too large for a float (``1e400``): they
  are not JSON numbers, and json.loads would turn the last into infinity;
- integers longer than Python's int-string limit (4300 digits by default), and strings holding
  a lone UTF-16 surrogate (``"\\ud800"``), which no UTF-8 store can hold.

This module imports no product package; callers convert ``LineError`` to their own types.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from flask import g, request

from quaywatch.errors import ApiError

# 64 levels is far more than any body of this API needs (the deepest, an alert rule's matcher,
# is 4), and small enough that json, pydantic and our own validators stay far from Python's
# recursion limit of 1000.
MAX_DEPTH = 64

# A string literal, escapes included and possibly unterminated. Possessive quantifiers: the
# regex engine never backtracks, so removing every string is one linear pass in C.
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# A \u escape of a UTF-16 surrogate; only then do the decoded strings need checking.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_CACHE = "quaywatch_request_json"


class BodyError(ValueError):
    """A body (or one NDJSON line) that is not strict JSON; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LineError:
    """Why one NDJSON line was not decoded: its item index (counting non-blank lines)."""

    index: int
    reason: str


def decode_utf8(raw: bytes, start: int = 0) -> str:
    """The text of ``raw``; BodyError naming the first bad byte (offset ``start`` + position)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"not valid UTF-8 at byte {start + exc.start}") from None


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """BodyError when arrays/objects nest deeper than ``limit``; brackets in strings don't count."""
    if text.count("[") + text.count("{") <= limit:
        return
    # Measured on a 10,000-event batch (1.4 MB): ~20 ms, about twice json.loads itself.
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit:
        raise BodyError(f"nested deeper than {limit} levels")


def loads(text: str) -> Any:
    """The JSON value of ``text``, strictly (see the module docstring); BodyError otherwise."""
    check_depth(text)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_float=_finite_float,
        )
    except BodyError:
        raise
    except json.JSONDecodeError as exc:
        raise BodyError(f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:
        # int() refuses more than sys.get_int_max_str_digits() digits (CVE-2020-10735).
        if "digits" not in str(exc):
            raise BodyError("not a JSON document") from None
        limit = sys.get_int_max_str_digits()
        raise BodyError(f"a number has more than {limit} digits") from None
    if _SURROGATE_ESCAPE.search(text):
        _check_strings(value)
    return value


def json_document(raw: bytes) -> Any:
    """The whole body as one JSON document; ApiError 400 ``body: <reason>`` otherwise."""
    try:
        return loads(decode_utf8(raw))
    except BodyError as exc:
        raise invalid_body(exc.reason) from None


def batch_items(raw: bytes, content_type: str) -> tuple[list[Any], list[LineError]]:
    """A batch body's items: a JSON array (400 when it is not strict JSON), or NDJSON, one
    value per line, where a bad line is that item's error (its item is None) and the other
    lines are kept. A body is NDJSON when its content type says so or it does not start with
    ``[``; blank lines are skipped and do not count."""
    return (json_document(raw), []) if _is_array(raw, content_type) else split_lines(raw)


def split_lines(raw: bytes) -> tuple[list[Any], list[LineError]]:
    """NDJSON: split on LF only (U+2028 or a form feed inside a string does not end a line)."""
    items: list[Any] = []
    errors: list[LineError] = []
    offset = 0
    for line in raw.split(b"\n"):
        start, offset = offset, offset + len(line) + 1
        if not line.strip():
            continue
        try:
            items.append(loads(decode_utf8(line, start)))
        except BodyError as exc:
            errors.append(LineError(len(items), exc.reason))
            items.append(None)
    return items, errors


def is_ndjson(content_type: str) -> bool:
    mimetype = content_type.partition(";")[0].strip().lower()
    return mimetype.endswith(("ndjson", "jsonl", "json-seq", "jsonlines"))


def is_json(content_type: str) -> bool:
    """``application/json`` or ``application/<anything>+json`` (not NDJSON)."""
    mimetype = content_type.partition(";")[0].strip().lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def invalid_body(reason: str) -> ApiError:
    return ApiError(400, "Invalid JSON", f"body: {reason}", [{"field": "body", "reason": reason}])


def request_json(empty: Any = None) -> Any:
    """The current request's body as strict JSON, decoded once per request (the guard in
    quaywatch.web and the view share the result); ``empty`` when there is no body."""
    if _CACHE not in g:
        raw = request.get_data(cache=True)
        setattr(g, _CACHE, json_document(raw) if raw.strip() else _Empty)
    value = getattr(g, _CACHE)
    return empty if value is _Empty else value


def request_items() -> tuple[list[Any], list[LineError]]:
    """The current request's batch items (see batch_items); a JSON array is decoded once."""
    raw = request.get_data(cache=True)
    return (request_json(), []) if _is_array(raw, request.content_type or "") else split_lines(raw)


def _is_array(raw: bytes, content_type: str) -> bool:
    return not is_ndjson(content_type) and raw.lstrip().startswith(b"[")


class _Empty:
    """Marks a request whose body was empty (None is a valid JSON document: ``null``)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BodyError(f"duplicate key {key[:40]!r} in one object")
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise BodyError(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise BodyError(f"number {literal[:40]} is out of range")
    return value


def _check_strings(value: Any) -> None:
    """BodyError when a string (or key) holds a lone surrogate; the depth is already bounded."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _encodable(item)
        elif isinstance(item, dict):
            for key in item:
                _encodable(key)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyError("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)") from None
