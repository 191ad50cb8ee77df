"""Logging setup with a redaction filter: no token, key or signature reaches a log line."""

from __future__ import annotations

import logging
import re

# Query parameters, headers and URL parts that carry secrets in the bot and webhook URLs we call.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(access_token|key|sign|token|secret|password)=[^&\s\"']+"), r"\1=********"),
    (re.compile(r"(?i)(authorization:\s*)\S+(?:\s+\S+)?"), r"\1********"),
    (re.compile(r"(/services/)[A-Za-z0-9/]+"), r"\1********"),
    (re.compile(r"(/hook/)[A-Za-z0-9-]+"), r"\1********"),
    (re.compile(r"(://[^/\s:@]+:)[^@\s]+(@)"), r"\1********\2"),
)


def redact(message: str) -> str:
    """Replace secret values in a message with ********."""
    for pattern, replacement in _SECRET_PATTERNS:
        message = pattern.sub(replacement, message)
    return message


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        rendered = record.getMessage()
        cleaned = redact(rendered)
        if cleaned != rendered:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # cmdstanpy logs every Stan run at INFO; one line per series per cycle drowns everything else.
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # urllib3 logs full request URLs (bot tokens included) at DEBUG.
    logging.getLogger("urllib3").setLevel(logging.INFO)
