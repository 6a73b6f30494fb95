"""Client configuration: constructor arguments > environment > config file > defaults.

Every option is a field of :class:`ClientConfig`. The environment variable of a field is
``WHATSAPP_`` followed by the field name in upper case (``WHATSAPP_SERVER_URL``,
``WHATSAPP_STORAGE_PATH``, ``WHATSAPP_AUTO_RECONNECT``...). A config file is YAML (needs
PyYAML: ``pip install 'whatsapp-client[yaml]'``) or JSON, either flat (``server_url: ...``)
or in sections (``server: {url: ...}``, ``storage: {path: ...}``, ``connection: {...}``).
The schema is documented in ``docs/configuration.md``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from whatsapp_client.errors import ValidationError

__all__ = ["DEFAULT_RECONNECT_DELAYS", "ENV_PREFIX", "ClientConfig", "load_config_file"]

ENV_PREFIX = "WHATSAPP_"
DEFAULT_RECONNECT_DELAYS: tuple[float, ...] = (3.0, 6.0, 12.0, 24.0, 60.0)
MAX_MEDIA_BYTES = 16 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024 * 1024
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DURABILITY = ("full", "fast")


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """Validated, immutable client options (see ``docs/configuration.md``)."""

    server_url: str = ""
    """Base URL of the server, ``http(s)://host[:port]``. Required."""
    storage_path: str = "~/.whatsapp_client"
    """Directory of the encrypted local stores; each account uses ``<storage_path>/<user_id>``."""
    auto_reconnect: bool = True
    """Reconnect automatically when the WebSocket drops."""
    reconnect_delays: tuple[float, ...] = DEFAULT_RECONNECT_DELAYS
    """Backoff before reconnect attempt 1, 2, ...; the last value repeats."""
    reconnect_jitter: float = 0.2
    """Each delay is multiplied by a random factor in ``[1 - jitter, 1 + jitter]``."""
    max_reconnect_attempts: int | None = None
    """Give up after this many failed attempts in a row (``None``: never)."""
    heartbeat_interval: float = 20.0
    """Seconds between application pings; no frame for twice this long drops the connection."""
    connect_timeout: float = 10.0
    """Seconds allowed to open and authenticate the WebSocket."""
    request_timeout: float = 15.0
    """Seconds allowed for one REST request."""
    http_retries: int = 3
    """Retries of idempotent REST calls on network errors, 5xx and 429."""
    http_retry_backoff: float = 0.5
    """First retry delay in seconds (doubles each retry)."""
    send_timeout: float = 10.0
    """While connected, seconds ``send_message`` waits for the server's ``sent`` before it
    returns the message ``pending`` (still queued); with no connection it returns at once."""
    message_cache_size: int = 10000
    """Ids of recently received messages kept in memory to drop duplicates fast."""
    prekey_count: int = 100
    """One-time prekeys generated on first login and on each refill."""
    prekey_refill_threshold: int = 20
    """Refill when the server holds fewer one-time prekeys than this."""
    prekey_check_interval: float = 3600.0
    """Seconds between background checks of the server's prekey count and the SPK's age."""
    signed_prekey_rotation_days: float = 7.0
    """Rotate the signed prekey after this many days."""
    signed_prekey_keep_days: float = 14.0
    """Keep the previous signed prekeys this long so late first messages still decrypt."""
    session_timeout_days: float = 30.0
    """A session not used for this long is replaced by a fresh X3DH session on the next send."""
    max_text_bytes: int = 10000
    """Largest text message, in bytes of UTF-8."""
    media_max_bytes: int = 5 * 1024 * 1024
    """Largest media sent inline, in raw bytes (never above 16 MiB); media above 64 KiB
    goes as an encrypted attachment instead. Also the largest attachment that
    ``download`` returns as bytes."""
    attachment_max_bytes: int = 100 * 1024 * 1024
    """Largest media sent as an encrypted attachment (PROTOCOL.md §8), in raw bytes."""
    log_level: str | None = None
    """Level of the ``whatsapp_client`` loggers (``DEBUG``...``CRITICAL``); ``None`` leaves it."""
    durability: str = "full"
    """Store durability: ``full`` (fsync every commit) or ``fast`` (a power loss may lose the
    last commits, never corrupts the store)."""
    kdf_memory_kib: int = 65536
    """Argon2id memory of the store's password KDF (KiB)."""
    kdf_iterations: int = 3
    """Argon2id iterations of the store's password KDF."""

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def ws_url(self) -> str:
        """The WebSocket URL derived from ``server_url``."""
        base = self.server_url.rstrip("/")
        if base.startswith("https://"):
            return "wss://" + base[len("https://") :] + "/ws"
        return "ws://" + base[len("http://") :] + "/ws"

    @property
    def storage_dir(self) -> Path:
        """``storage_path`` with ``~`` expanded."""
        return Path(os.path.expanduser(self.storage_path))

    def replace(self, **changes: Any) -> ClientConfig:
        """A copy with some options changed (validated)."""
        return build_config(base=dataclasses.asdict(self), overrides=changes, environ={})

    def to_dict(self) -> dict[str, Any]:
        """The options as a plain dict."""
        return dataclasses.asdict(self)

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The option names."""
        return tuple(f.name for f in dataclasses.fields(cls))


_FIELD_TYPES: dict[str, str] = {
    "server_url": "str",
    "storage_path": "str",
    "auto_reconnect": "bool",
    "reconnect_delays": "floats",
    "reconnect_jitter": "float",
    "max_reconnect_attempts": "optint",
    "heartbeat_interval": "float",
    "connect_timeout": "float",
    "request_timeout": "float",
    "http_retries": "int",
    "http_retry_backoff": "float",
    "send_timeout": "float",
    "message_cache_size": "int",
    "prekey_count": "int",
    "prekey_refill_threshold": "int",
    "prekey_check_interval": "float",
    "signed_prekey_rotation_days": "float",
    "signed_prekey_keep_days": "float",
    "session_timeout_days": "float",
    "max_text_bytes": "int",
    "media_max_bytes": "int",
    "attachment_max_bytes": "int",
    "log_level": "optstr",
    "durability": "str",
    "kdf_memory_kib": "int",
    "kdf_iterations": "int",
}

# Aliases accepted from every source (the user stories' spellings).
_ALIASES: dict[str, str] = {
    "url": "server_url",
    "server": "server_url",
    "path": "storage_path",
    "level": "log_level",
    "reconnect": "auto_reconnect",
    "media_size_limit": "media_max_bytes",
    "max_media_bytes": "media_max_bytes",
}


def _coerce(name: str, value: Any, kind: str | None = None) -> Any:
    kind = kind or _FIELD_TYPES[name]
    try:
        if kind in ("optint", "optstr") and (value is None or value == ""):
            return None
        if kind in ("str", "optstr"):
            if not isinstance(value, str):
                raise TypeError
            return value
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off"):
                return False
            raise TypeError
        if kind in ("int", "optint"):
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, str):
                value = int(value.strip())
            if not isinstance(value, int):
                raise TypeError
            return value
        if kind == "float":
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, str):
                value = float(value.strip())
            if not isinstance(value, (int, float)):
                raise TypeError
            return float(value)
        # floats
        if isinstance(value, str):
            value = [v for v in value.replace(";", ",").split(",") if v.strip()]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise TypeError
        out = []
        for v in value:
            if isinstance(v, bool):
                raise TypeError
            out.append(float(v.strip()) if isinstance(v, str) else float(v))
        return tuple(out)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"config option {name!r} has an invalid value {value!r} (expected {kind}); "
            "fix it in the constructor arguments, the environment or the config file",
            code="invalid_config",
        ) from exc


def _fail(message: str) -> ValidationError:
    return ValidationError(message, code="invalid_config")


def _validate(cfg: ClientConfig) -> None:
    if not cfg.server_url:
        raise _fail(
            "server_url is required: pass server_url=..., set WHATSAPP_SERVER_URL "
            "or put server.url in the config file"
        )
    parts = urlsplit(cfg.server_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _fail(f"server_url must look like http(s)://host[:port], got {cfg.server_url!r}")
    if not cfg.storage_path:
        raise _fail("storage_path must not be empty")
    if not cfg.reconnect_delays or any(d < 0 for d in cfg.reconnect_delays):
        raise _fail("reconnect_delays must be a non-empty list of non-negative seconds")
    if not 0.0 <= cfg.reconnect_jitter <= 1.0:
        raise _fail("reconnect_jitter must be between 0 and 1")
    if cfg.max_reconnect_attempts is not None and cfg.max_reconnect_attempts < 0:
        raise _fail("max_reconnect_attempts must be >= 0 or None")
    for name in (
        "heartbeat_interval",
        "connect_timeout",
        "request_timeout",
        "send_timeout",
        "prekey_check_interval",
    ):
        if getattr(cfg, name) <= 0:
            raise _fail(f"{name} must be > 0 seconds")
    if cfg.http_retries < 0 or cfg.http_retry_backoff < 0:
        raise _fail("http_retries and http_retry_backoff must be >= 0")
    if cfg.message_cache_size < 0:
        raise _fail("message_cache_size must be >= 0")
    if not 1 <= cfg.prekey_count <= 1000:
        raise _fail("prekey_count must be between 1 and 1000 (the server takes 1000 per call)")
    if not 0 <= cfg.prekey_refill_threshold <= cfg.prekey_count:
        raise _fail("prekey_refill_threshold must be between 0 and prekey_count")
    for name in ("signed_prekey_rotation_days", "signed_prekey_keep_days", "session_timeout_days"):
        if getattr(cfg, name) <= 0:
            raise _fail(f"{name} must be > 0 days")
    if not 1 <= cfg.max_text_bytes <= 1_000_000:
        raise _fail("max_text_bytes must be between 1 and 1,000,000")
    if not 1 <= cfg.media_max_bytes <= MAX_MEDIA_BYTES:
        raise _fail("media_max_bytes must be between 1 and 16 MiB (16777216)")
    if not 1 <= cfg.attachment_max_bytes <= MAX_ATTACHMENT_BYTES:
        raise _fail("attachment_max_bytes must be between 1 and 4 GiB (4294967296)")
    if cfg.log_level is not None and cfg.log_level.upper() not in _LOG_LEVELS:
        raise _fail(f"log_level must be one of {', '.join(_LOG_LEVELS)}, got {cfg.log_level!r}")
    if cfg.durability not in _DURABILITY:
        raise _fail("durability must be 'full' or 'fast'")
    _validate_kdf(cfg.kdf_memory_kib, cfg.kdf_iterations)


# The store's Argon2id bounds: OWASP's floor, and caps that keep an open from hanging.
KDF_MIN_MEMORY_KIB = 19 * 1024
KDF_MIN_ITERATIONS = 2
KDF_MAX_MEMORY_KIB = 256 * 1024
KDF_MAX_ITERATIONS = 10


def _validate_kdf(memory_kib: int, iterations: int) -> None:
    if not memory_kib <= KDF_MAX_MEMORY_KIB or not iterations <= KDF_MAX_ITERATIONS:
        raise _fail(
            f"kdf_memory_kib must be <= {KDF_MAX_MEMORY_KIB} and kdf_iterations <= "
            f"{KDF_MAX_ITERATIONS}"
        )
    # Test builds of the extension accept cheaper parameters when the test suite asks
    # (WAC1_TEST_WEAK_KDF=1); a release build's store refuses them whatever this says.
    if os.environ.get("WAC1_TEST_WEAK_KDF") == "1":
        if memory_kib < 8 or iterations < 1:
            raise _fail("kdf_memory_kib must be >= 8 and kdf_iterations >= 1")
        return
    if memory_kib < KDF_MIN_MEMORY_KIB or iterations < KDF_MIN_ITERATIONS:
        raise _fail(
            f"kdf_memory_kib must be >= {KDF_MIN_MEMORY_KIB} (19 MiB) and kdf_iterations >= "
            f"{KDF_MIN_ITERATIONS}: the OWASP floor for Argon2id"
        )


def _normalise(source: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Maps one source's keys (flat, sectioned or aliased) to field names, coerced."""
    fields = set(_FIELD_TYPES)
    out: dict[str, Any] = {}

    def put(key: str, value: Any, section: str | None) -> None:
        if key == "reconnect_delay":  # a single base delay: d, 2d, 4d, 8d, 20d
            base = float(_coerce(key, value, "float"))
            out["reconnect_delays"] = (base, 2 * base, 4 * base, 8 * base, 20 * base)
            return
        candidates = [key, _ALIASES.get(key, "")]
        if section:
            candidates.insert(0, f"{section}_{key}")
        for name in candidates:
            if name in fields:
                out[name] = _coerce(name, value)
                return
        raise _fail(
            f"unknown config option {key!r} in {source}; known options: {', '.join(sorted(fields))}"
        )

    for key, value in data.items():
        if not isinstance(key, str):
            raise _fail(f"config keys must be strings in {source}, got {key!r}")
        if isinstance(value, Mapping):
            for sub, subval in value.items():
                put(str(sub), subval, key)
        else:
            put(key, value, None)
    return out


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Reads a YAML or JSON config file into a dict (not yet validated)."""
    p = Path(os.path.expanduser(os.fspath(path)))
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot read config file {str(p)!r}: {exc.strerror}") from exc
    suffix = p.suffix.lower()
    data: Any
    if suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise _fail(f"config file {str(p)!r} is not valid JSON: {exc}") from exc
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise _fail(
                "reading a YAML config file needs PyYAML: pip install 'whatsapp-client[yaml]' "
                "(or use a .json file)"
            ) from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise _fail(f"config file {str(p)!r} is not valid YAML: {exc}") from exc
    else:
        raise _fail(f"config file {str(p)!r} must end in .yaml, .yml or .json")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _fail(f"config file {str(p)!r} must hold a mapping of options")
    return data


def env_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """Options set in the environment (``WHATSAPP_<FIELD>``)."""
    out: dict[str, Any] = {}
    for name in _FIELD_TYPES:
        key = ENV_PREFIX + name.upper()
        if key in environ:
            out[name] = environ[key]
    if ENV_PREFIX + "RECONNECT_DELAY" in environ and "reconnect_delays" not in out:
        out["reconnect_delay"] = environ[ENV_PREFIX + "RECONNECT_DELAY"]
    return out


def build_config(
    *,
    base: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Merges defaults < ``base`` (a file) < environment < ``overrides`` (arguments)."""
    merged: dict[str, Any] = {}
    merged.update(_normalise("the config file", base or {}))
    merged.update(
        _normalise("the environment", env_options(os.environ if environ is None else environ))
    )
    merged.update(
        _normalise("the arguments", {k: v for k, v in (overrides or {}).items() if v is not None})
    )
    return ClientConfig(**merged)
