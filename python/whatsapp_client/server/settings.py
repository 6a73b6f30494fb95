"""Server settings: one frozen dataclass, filled from defaults, ``WHATSAPP_SERVER_*`` and flags."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from typing import Any

ENV_PREFIX = "WHATSAPP_SERVER_"
_INT_RE = re.compile(r"-?[0-9]+")
_FLOAT_RE = re.compile(r"-?[0-9]+(\.[0-9]*)?|-?\.[0-9]+")

MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every tunable of the reference server. Field names double as flag and env names."""

    host: str = "127.0.0.1"
    port: int = 8080
    # Directory for the SQLite database; None keeps everything in a temporary directory.
    data: str | None = None
    log_level: str = "INFO"
    # Shared backends for several processes (docs/scaling.md); None keeps SQLite in `data`
    # and the in-process fan-out. With `database`, accounts, keys, messages, groups and
    # attachment metadata go to PostgreSQL; attachment blobs stay under `data`.
    database: str | None = None
    redis: str | None = None
    # Seconds after which a process that stopped refreshing its presence entries (crashed)
    # has its users shown offline; refreshed every third of it.
    redis_presence_ttl: float = 30.0
    access_log: bool = True

    bcrypt_cost: int = 12
    # "full" fsyncs every group commit; "normal" survives a process kill but not power loss.
    sqlite_synchronous: str = "full"
    writer_max_batch: int = 2000
    reader_threads: int = 2

    max_frame_bytes: int = 8 * MIB
    max_body_bytes: int = 2 * MIB
    auth_timeout: float = 10.0
    max_unauthenticated: int = 10_000
    # A new connection must send a complete request head within this many seconds.
    header_timeout: float = 10.0
    # An idle keep-alive connection (between requests) is closed after this many seconds.
    keepalive_timeout: float = 30.0
    # Reading a JSON body, or each chunk of an upload, must finish within this many seconds.
    request_timeout: float = 60.0
    # Connections not yet authenticated, at once (at most half the file descriptor limit);
    # past it the oldest one is closed.
    max_anonymous_connections: int = 1024
    outbound_queue_frames: int = 20_000
    max_inflight_per_connection: int = 2_000

    # Failed logins for one username from one address (so nobody can lock the owner out
    # from elsewhere), and from one address over all usernames.
    login_attempts_per_username: int = 10
    login_attempts_per_address: int = 50
    login_window_seconds: float = 300.0
    registrations_per_address: int = 100
    registration_window_seconds: float = 3600.0
    messages_per_second: float = 200.0
    message_burst: int = 400
    max_pending_per_recipient: int = 10_000
    # Bytes of undelivered direct-message content one user may have waiting.
    max_pending_bytes_per_recipient: int = 256 * MIB
    # Prekey bundles: fetches per requesting account, one-time prekeys handed out per target,
    # and per (requester, target), each per bundle_window_seconds.
    bundle_fetches_per_requester: int = 300
    prekeys_per_target: int = 100
    prekeys_per_requester_and_target: int = 3
    bundle_window_seconds: float = 3600.0
    max_one_time_prekeys: int = 2_000
    max_group_size: int = 256
    # Attachments (§8): blob size limit, bytes per account, how long a blob is kept, and
    # how often expired ones are removed. The default blob limit is that of a 100 MiB file
    # (100 MiB plus a 16-byte tag per 64 KiB chunk), so a 100 MiB document fits.
    max_attachment_bytes: int = 100 * MIB + 16 * (100 * MIB // 65536)
    attachment_quota_bytes: int = 2048 * MIB
    attachment_retention_seconds: float = 30 * 24 * 3600.0
    attachment_sweep_interval: float = 3600.0
    # Seconds between WAL truncations after acknowledged content was deleted.
    wal_scrub_interval: float = 5.0
    # Trust X-Forwarded-For for the client address (only behind a proxy you control).
    trust_forwarded_for: bool = False

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _coerce(field: dataclasses.Field[Any], raw: str) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "str")
    if "bool" in kind:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected a boolean (true/false), got {raw!r}")
    if "None" in kind or "Optional" in kind:
        return raw or None
    if "int" in kind:
        if _INT_RE.fullmatch(raw.strip()) is None:
            raise ValueError(f"expected a whole number, got {raw!r}")
        return int(raw)
    if "float" in kind:
        if _FLOAT_RE.fullmatch(raw.strip()) is None:
            raise ValueError(f"expected a number, got {raw!r}")
        return float(raw)
    return raw


def settings_from_env(
    env: Mapping[str, str] | None = None, base: Settings | None = None
) -> Settings:
    """Apply ``WHATSAPP_SERVER_<FIELD>`` variables on top of ``base``."""
    source = os.environ if env is None else env
    current = base or Settings()
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        name = ENV_PREFIX + field.name.upper()
        raw = source.get(name)
        if raw is not None:
            try:
                changes[field.name] = _coerce(field, raw)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
    return current.replace(**changes)


def settings_fields() -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(Settings))


def coerce_setting(name: str, raw: str) -> Any:
    for field in dataclasses.fields(Settings):
        if field.name == name:
            return _coerce(field, raw)
    raise KeyError(name)
