"""Choosing the storage and the fan-out from the settings.

SQLite and the in-process fan-out are the defaults; ``database`` (a ``postgresql://`` URL)
selects :class:`~whatsapp_client.server.storage.postgres.PostgresStorage` and ``redis`` (a
``redis://`` URL) selects :class:`~whatsapp_client.server.redis_fanout.RedisFanout`. Both
are imported only when asked for, so their drivers stay optional.
"""

from __future__ import annotations

import importlib
import urllib.parse
from typing import Any

from whatsapp_client.server.fanout import Fanout, LocalFanout, OfflineHook
from whatsapp_client.server.metrics import Metrics
from whatsapp_client.server.presence import PresenceHub
from whatsapp_client.server.settings import Settings
from whatsapp_client.server.storage import SqliteStorage, Storage

POSTGRES_MODULE = "whatsapp_client.server.storage.postgres"


class BackendError(RuntimeError):
    """A configured backend is unavailable or misconfigured (the message says which)."""


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def make_storage(settings: Settings, data_dir: str, metrics: Metrics) -> Storage:
    if settings.database:
        return _postgres_storage(settings.database, settings, metrics)
    return SqliteStorage(
        data_dir,
        synchronous=settings.sqlite_synchronous,
        max_batch=settings.writer_max_batch,
        reader_threads=settings.reader_threads,
        on_batch=metrics.commit_batch.observe,
        scrub_interval=settings.wal_scrub_interval,
    )


def _postgres_storage(url: str, settings: Settings, metrics: Metrics) -> Storage:
    if not url.startswith(("postgresql://", "postgres://")):
        raise BackendError(f"--database must be a postgresql:// URL, got {redact_url(url)!r}")
    try:
        module: Any = importlib.import_module(POSTGRES_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == POSTGRES_MODULE:
            raise BackendError(
                "PostgreSQL storage is not available in this build"
                f" ({POSTGRES_MODULE} is missing); run without --database for SQLite"
            ) from None
        raise BackendError(
            f"PostgreSQL storage needs the {exc.name!r} package:"
            " pip install 'whatsapp-client[postgres]'"
        ) from None
    storage: Storage = module.PostgresStorage(
        url, max_batch=settings.writer_max_batch, on_batch=metrics.commit_batch.observe
    )
    return storage


def make_fanout(settings: Settings, presence: PresenceHub, on_offline: OfflineHook) -> Fanout:
    if not settings.redis:
        return LocalFanout(presence, on_offline)
    if not settings.redis.startswith(("redis://", "rediss://", "unix://")):
        raise BackendError(
            f"--redis must be a redis:// or rediss:// URL, got {redact_url(settings.redis)!r}"
        )
    try:
        from whatsapp_client.server.redis_fanout import RedisFanout
    except ModuleNotFoundError as exc:
        raise BackendError(
            f"the Redis fan-out needs the {exc.name!r} package:"
            " pip install 'whatsapp-client[postgres]'"
        ) from None
    return RedisFanout(
        settings.redis,
        presence,
        on_offline,
        presence_ttl=settings.redis_presence_ttl,
    )
