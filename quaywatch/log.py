"""Logging setup with a redaction filter: no token, key or signature reaches a log line."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

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
    """On every handler ``setup_logging`` makes: urllib3 logs each request line at DEBUG, query
    included (DingTalk ``access_token`` and ``sign``, WeCom ``key``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        rendered = record.getMessage()
        cleaned = redact(rendered)
        if cleaned != rendered:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log shippers: time (UTC), level, logger, message, and the
    exception text when there is one. Ten lines here cost less than a dependency, and the
    message it writes is the one RedactingFilter has already cleaned."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler says "Running job ..." and "... executed successfully" at INFO for every run
    # of every step (2016 of 2130 lines in 18 minutes), and warns at every interval a long step
    # overruns ("skipped: maximum number of running instances"): scheduler chatter is DEBUG here.
    # A failing step is logged by quaywatch.scheduler itself.
    quiet = logging.DEBUG if root.level <= logging.DEBUG else logging.ERROR
    logging.getLogger("apscheduler").setLevel(quiet)
    # cmdstanpy logs every Stan run at INFO; one line per series per cycle drowns everything else.
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # waitress warns of a queue depth under load, and urllib3 logs full request URLs (bot
    # tokens included) at DEBUG.
    logging.getLogger("urllib3").setLevel(logging.INFO)
