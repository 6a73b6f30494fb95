"""The last log records of the gateway, in memory, for the dashboard's Logs tab and the
``/api/v1/logs`` route: a :class:`logging.Handler` on the ``whatsapp_client`` loggers that
keeps a bounded ring of structured records.

A record carries the session and message ids of the log context (:mod:`._logs`) or of
its ``extra=`` fields, the other scalar extras as ``context``, and the error (an
``error`` extra, or the exception's type and text; never a traceback). Nothing secret
enters: DEBUG is not kept (the SDK allows secrets' details only there), extras whose
name looks like a secret are dropped, long values are cut.
"""

from __future__ import annotations

import collections
import itertools
import logging
import re
from collections.abc import Callable, Iterable
from typing import Literal, Optional, Union

import msgspec

from whatsapp_client.gateway._logs import current_log_context

__all__ = ["LEVELS", "Level", "LogBuffer", "LogEntry", "level_rank", "mask_recipient"]

Level = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LEVELS: tuple[Level, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")
Scalar = Union[str, int, float, bool, None]

_ROOT = "whatsapp_client"
_MAX_MESSAGE = 2000
_MAX_VALUE = 500
# Extras never kept, whatever their value (a caller's mistake must not reach a browser).
_SECRET_NAME = re.compile(
    r"pass|secret|token|authori|cookie|credential|api_?key|signature|^key$|private", re.I
)
# Attributes every LogRecord has; anything else came with ``extra=``.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class LogEntry(msgspec.Struct, kw_only=True):
    """One record as the API shows it (``time`` in ms since the epoch)."""

    id: int
    time: int
    level: Level
    logger: str
    message: str
    session_id: Optional[str] = None
    message_id: Optional[str] = None
    context: dict[str, Scalar] = msgspec.field(default_factory=dict)
    error: Optional[str] = None


_RANKS: dict[str, int] = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
}


def level_rank(level: str) -> int:
    return _RANKS.get(level, logging.ERROR)


def _level(levelno: int) -> Level:
    if levelno >= logging.ERROR:
        return "ERROR"
    if levelno >= logging.WARNING:
        return "WARNING"
    if levelno >= logging.INFO:
        return "INFO"
    return "DEBUG"


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


def _scalar(value: object) -> Optional[Scalar]:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _cut(str(value), _MAX_VALUE)


def mask_recipient(value: Optional[str]) -> Optional[str]:
    """A recipient fit for a log: enough to recognise it, not to reuse it
    (``+33612345678`` → ``+336…78``; a user id keeps its first 8 characters)."""
    if value is None:
        return None
    if len(value) <= 6:
        return "…" + value[-2:] if len(value) > 2 else "…"
    if value.startswith("+") or value.isdigit():
        return value[:4] + "…" + value[-2:]
    return value[:8] + "…"


class LogBuffer(logging.Handler):
    """``LogBuffer(capacity)``; :meth:`install` on the ``whatsapp_client`` loggers,
    :meth:`uninstall` after. ``listener`` gets every kept entry (on the logging thread)."""

    def __init__(self, capacity: int = 2000, *, level: int = logging.INFO) -> None:
        super().__init__(level=max(level, logging.INFO))
        if capacity < 1:
            raise ValueError("the log buffer must hold at least one record")
        self.capacity = capacity
        self._entries: collections.deque[LogEntry] = collections.deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self.listener: Optional[Callable[[LogEntry], None]] = None
        self._saved_level: Optional[int] = None

    # --- installation ---------------------------------------------------------------------
    def install(self) -> None:
        logger = logging.getLogger(_ROOT)
        if self in logger.handlers:
            return
        logger.addHandler(self)
        # Nobody configured the level (in-process tests, embedding): let INFO reach the
        # buffer. A configured level (the CLI's --log-level) is left as the operator set it.
        if logger.level == logging.NOTSET:
            self._saved_level = logger.level
            logger.setLevel(self.level)

    def uninstall(self) -> None:
        logger = logging.getLogger(_ROOT)
        logger.removeHandler(self)
        if self._saved_level is not None:
            logger.setLevel(self._saved_level)
            self._saved_level = None

    # --- logging.Handler ------------------------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = self._entry(record)
        except Exception:
            self.handleError(record)
            return
        self._entries.append(entry)  # under the handler's lock (Handler.handle)
        listener = self.listener
        if listener is not None:
            listener(entry)

    def _entry(self, record: logging.LogRecord) -> LogEntry:
        fields: dict[str, object] = dict(current_log_context())
        fields.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
        session_id = fields.pop("session_id", None)
        message_id = fields.pop("message_id", None)
        error = fields.pop("error", None)
        if error is None and record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            error = f"{type(exc).__name__}: {exc}"
        context: dict[str, Scalar] = {}
        for key, value in fields.items():
            if key.startswith("_") or _SECRET_NAME.search(key):
                continue
            context[key] = _scalar(value)
        return LogEntry(
            id=next(self._ids),
            time=int(record.created * 1000),
            level=_level(record.levelno),
            logger=record.name,
            message=_cut(record.getMessage(), _MAX_MESSAGE),
            session_id=None if session_id is None else str(session_id),
            message_id=None if message_id is None else str(message_id),
            context=context,
            error=None if error is None else _cut(str(error), _MAX_MESSAGE),
        )

    # --- reading --------------------------------------------------------------------------
    def entries(self) -> list[LogEntry]:
        """Every kept entry, newest first."""
        self.acquire()
        try:
            found = list(self._entries)
        finally:
            self.release()
        found.reverse()
        return found

    def query(
        self,
        *,
        level: Level = "DEBUG",
        session_id: Optional[str] = None,
        before: Optional[int] = None,
        limit: int = 100,
        visible: Callable[[Optional[str]], bool] = lambda _: True,
    ) -> tuple[list[LogEntry], Optional[int]]:
        """Newest first: entries at ``level`` or above, of ``session_id`` (if given), older
        than the entry ``before`` (if given), that ``visible`` lets through; at most
        ``limit``, and the ``before`` of the next page (None at the end)."""
        floor = level_rank(level)
        matching: Iterable[LogEntry] = (
            e
            for e in self.entries()
            if level_rank(e.level) >= floor
            and (session_id is None or e.session_id == session_id)
            and (before is None or e.id < before)
            and visible(e.session_id)
        )
        page = list(itertools.islice(matching, limit + 1))
        if len(page) > limit:
            return page[:limit], page[limit - 1].id
        return page, None
