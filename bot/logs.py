"""Structured logs that are safe to ship anywhere: one JSON object a line, never a secret or a lead's words.

What keeps them clean, in layers:
- call sites log ids, counts and error *types*, never CRM text, email bodies or addresses, and pass the
  follow-up's id as `extra={"followup_id": …}`;
- an exception is logged as its type and stack frames only: its message (which may quote a lead's text, an
  SQL statement's parameters or an API response) is left out, and so are the messages of its causes;
- every message is scrubbed of anything shaped like a token or an email address, in case a call site slips;
- the SDKs' own loggers (which at DEBUG print request bodies and headers) are held at WARNING.
An unexpected error is logged with an `error_id` that the person who hit it is shown, so the two meet."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

# fields a call site may attach with `extra=`; anything else passed that way is ignored
FIELDS = ("followup_id", "error_id", "job_id", "kind", "status", "rule", "attempts", "holder")
QUIET = (
    "slack_bolt",
    "slack_sdk",
    "urllib3",
    "anthropic",
    "httpx",
    "httpcore",
    "hubspot",
    "sqlalchemy",
    "alembic",
    "apscheduler",
    "waitress",
)
SECRETS = re.compile(
    r"(xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|sk-ant-[A-Za-z0-9_-]+|pat-[a-z0-9]+-[A-Za-z0-9-]+"
    r"|(?i:bearer)\s+\S+|(?i:password|secret|token)=\S+)"
)
EMAILS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
SLACK_ERROR = re.compile(r"^[a-z_]{1,60}$")


def scrub(text: str) -> str:
    return EMAILS.sub("<email>", SECRETS.sub("<secret>", text))


def exception_summary(exc_info: tuple[type[BaseException], BaseException, TracebackType | None]) -> dict:
    """The exception chain as types and frames: enough to find the line, nothing from the data."""
    chain: list[dict[str, Any]] = []
    exc: BaseException | None = exc_info[1]
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and len(chain) < 5:
        seen.add(id(exc))
        frames = traceback.extract_tb(exc.__traceback__)[-12:]
        entry: dict[str, Any] = {
            "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "at": [f"{f.filename.rsplit('/site-packages/', 1)[-1]}:{f.lineno} {f.name}" for f in frames],
        }
        code = _slack_error(exc)
        if code:
            entry["slack_error"] = code
        chain.append(entry)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return {"chain": chain}


def _slack_error(exc: BaseException) -> str | None:
    """A Slack API error's code (`not_in_channel`, `ratelimited`…) is safe and says what went wrong."""
    response = getattr(exc, "response", None)
    try:
        code = response.get("error") if response is not None else None  # type: ignore[union-attr]
    except Exception:
        return None
    return code if isinstance(code, str) and SLACK_ERROR.match(code) else None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(message),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if isinstance(value, int | float | bool) or (isinstance(value, str) and len(value) <= 100):
                out[name] = scrub(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[1] is not None:
            out["exc"] = exception_summary(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(out, ensure_ascii=False)


class _Unhelpful(logging.Filter):
    """Bolt warns that a token is unused whenever SLACK_BOT_TOKEN is set and a client is given, as the app
    always does: a warning that asks nothing of the admin."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


def bolt_logger() -> logging.Logger:
    """Bolt's app logger, held at WARNING: at DEBUG Bolt logs every request it handles. (Bolt sets the
    level of the logger it makes itself to the root's, so the app hands it this one.)"""
    logger = logging.getLogger("slack_bolt.App")
    logger.setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    if not any(isinstance(f, _Unhelpful) for f in logger.filters):
        logger.addFilter(_Unhelpful())
    return logger


def setup(level: str = "INFO", stream: Any = None) -> None:
    """Route every log record through the JSON formatter on stderr; called once by each command."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread else "?"
        logging.getLogger("followup").error(
            "uncaught error in thread %s",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    threading.excepthook = thread_hook
