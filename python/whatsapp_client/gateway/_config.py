"""Gateway settings from defaults, a config file (JSON or YAML), ``WHATSAPP_GATEWAY_*`` and
flags, later winning. Every value is checked against its field's type here, with the
source named in the error, so that a typo stops the start rather than being ignored."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from whatsapp_client.gateway._database import check_database
from whatsapp_client.gateway._settings import ENV_PREFIX, GatewaySettings
from whatsapp_client.gateway._trust import parse_trusted

# Sessions accept at most this many sends a minute (the service's bound).
MAX_RATE = 100_000
_INT_RE = re.compile(r"-?[0-9]+")
_FLOAT_RE = re.compile(r"-?[0-9]+(\.[0-9]*)?|-?\.[0-9]+")
FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(GatewaySettings)}


class ConfigError(ValueError):
    """A bad setting: the message names where it came from."""


def _kind(name: str) -> str:
    kind = FIELDS[name].type
    return kind if isinstance(kind, str) else getattr(kind, "__name__", "str")


def coerce(name: str, raw: object) -> Any:
    """``raw`` (a string from the environment or a flag, or a JSON/YAML value) as the
    type of field ``name``; ``ValueError`` saying what was expected."""
    kind = _kind(name)
    optional = "None" in kind or "Optional" in kind
    if raw is None or (optional and raw == ""):
        if optional:
            return None
        raise ValueError("a value is required")
    if "bool" in kind:
        if isinstance(raw, bool):
            return raw
        lowered = str(raw).strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected a boolean (true/false), got {raw!r}")
    if "int" in kind:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if not isinstance(raw, str) or _INT_RE.fullmatch(raw.strip()) is None:
            raise ValueError(f"expected a whole number, got {raw!r}")
        return int(raw)
    if "float" in kind:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        if not isinstance(raw, str) or _FLOAT_RE.fullmatch(raw.strip()) is None:
            raise ValueError(f"expected a number, got {raw!r}")
        return float(raw)
    if not isinstance(raw, str):
        raise ValueError(f"expected a string, got {raw!r}")
    return raw


def read_config_file(path: str) -> dict[str, Any]:
    """The settings of a JSON or YAML file (by its suffix: .json, .yaml, .yml)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    try:
        if file.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except ImportError:
        raise ConfigError(
            f"config file {path}: YAML needs PyYAML (pip install 'whatsapp-client[yaml]')"
        ) from None
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError: the parser's message
        raise ConfigError(f"config file {path}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping of settings")
    return data


def _apply(
    changes: dict[str, Any], values: Mapping[str, object], where: str, *, dashes: bool
) -> None:
    for key, raw in values.items():
        name = key.replace("-", "_") if dashes else key
        if name not in FIELDS or name == "config":
            raise ConfigError(f"{where}: unknown setting {key!r}")
        try:
            changes[name] = coerce(name, raw)
        except ValueError as exc:
            raise ConfigError(f"{where}: {key}: {exc}") from None


def load_settings(
    flags: Optional[Mapping[str, object]] = None, env: Optional[Mapping[str, str]] = None
) -> GatewaySettings:
    """Defaults < config file < environment < flags. ``flags``: the values given on the
    command line (already typed), by field name."""
    source = os.environ if env is None else env
    flags = dict(flags or {})
    env_values = {
        name: source[ENV_PREFIX + name.upper()]
        for name in FIELDS
        if ENV_PREFIX + name.upper() in source
    }
    config_path = flags.get("config") or env_values.get("config")
    changes: dict[str, Any] = {}
    if config_path:
        values = read_config_file(str(config_path))
        _apply(changes, values, f"config file {config_path}", dashes=True)
        changes["config"] = str(config_path)
    for name, raw in env_values.items():
        if name == "config":
            continue
        try:
            changes[name] = coerce(name, raw)
        except ValueError as exc:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()}: {exc}") from None
    changes.update({k: v for k, v in flags.items() if v is not None})
    settings = dataclasses.replace(GatewaySettings(), **changes)
    check(settings)
    return settings


def check(settings: GatewaySettings) -> None:
    """Cross-field and range checks."""
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise ConfigError("tls_cert and tls_key go together: give both or neither")
    for name in ("host", "data_dir"):
        if not getattr(settings, name).strip():
            raise ConfigError(f"{name} must not be empty")
    if not 0 <= settings.port <= 65535:
        raise ConfigError("port must be between 0 and 65535")
    for name in (
        "max_file_bytes",
        "max_queue",
        "rate_limit_per_minute",
        "webhook_concurrency",
        "delivery_retention_seconds",
    ):
        if getattr(settings, name) < 1:
            raise ConfigError(f"{name} must be at least 1")
    problem = check_database(settings.database)
    if problem is not None:
        raise ConfigError(problem)
    if settings.database_max_connections < 2:
        raise ConfigError("database_max_connections must be at least 2")
    if not settings.retention_sweep_interval > 0:
        raise ConfigError("retention_sweep_interval must be more than 0")
    # Below a second a lease would be lost to an ordinary pause (renewed every third).
    if not settings.lease_ttl >= 1:
        raise ConfigError("lease_ttl must be at least 1 (seconds)")
    if not 0 < settings.queue_poll_interval <= settings.lease_ttl:
        raise ConfigError("queue_poll_interval must be more than 0 and at most lease_ttl")
    pid = settings.process_id
    if pid is not None and not (0 < len(pid) <= 100 and pid.isprintable() and " " not in pid):
        raise ConfigError("process_id must be 1 to 100 printable characters without spaces")
    if settings.rate_limit_per_minute > MAX_RATE:
        raise ConfigError(f"rate_limit_per_minute must be at most {MAX_RATE}")
    try:
        parse_trusted(settings.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if settings.base_url is not None and not settings.base_url.startswith(("http://", "https://")):
        raise ConfigError("base_url must start with http:// or https://")
