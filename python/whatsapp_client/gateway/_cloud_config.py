"""The ``cloud`` engine's settings and secrets (WhatsApp Business Cloud API), and the
factory that checks a creation request and builds engines.

A cloud session is one business phone number of the Graph API. Its access token, app secret
and webhook verify token are sealed by the storage like a ``wac1`` session's password; the
session's ``config`` (shown by ``GET /api/v1/sessions/{id}``) holds only the rest.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Optional
from urllib.parse import urlsplit

import msgspec

from whatsapp_client.gateway._engine import EngineListener
from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._settings import GatewaySettings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from whatsapp_client.cloud._metrics import CloudMetrics
    from whatsapp_client.gateway._cloud_engine import CloudEngine

__all__ = ["CloudCredentials", "CloudFactory", "CloudOptions"]

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"
DEFAULT_RATE = 80.0  # messages per second per phone number (Graph's default throughput)
DEFAULT_PAIR_SPACING = 6.0  # seconds between two messages to one recipient (pair rate)
_PHONE_NUMBER_ID = re.compile(r"^[0-9]{1,32}$")
_API_VERSION = re.compile(r"^v[0-9]{1,3}\.[0-9]{1,3}$")
_SECRET_MAX = 4096
# Creation fields of the other engine; refused here rather than silently ignored.
_WAC1_FIELDS = ("server_url", "username", "password")


class CloudCredentials(msgspec.Struct, kw_only=True):
    """Sealed at rest by the storage; never logged, never in an answer."""

    access_token: str
    app_secret: str
    verify_token: str

    def __repr__(self) -> str:
        return "CloudCredentials(<sealed>)"


@dataclasses.dataclass(frozen=True)
class CloudOptions:
    """Gateway-wide knobs of every cloud session (the per-session ones are in its config)."""

    max_failures: int = 5
    reconnect_base_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    # Seconds one Graph request may take (the client retries transient failures itself).
    request_timeout: float = 30.0
    max_retries: int = 3
    # Seconds a webhook POST waits for its events to be recorded before answering 200
    # (Meta retries a webhook that is not answered in time; recording continues anyway).
    record_timeout: float = 15.0

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> CloudOptions:
        return cls(
            max_failures=settings.max_reconnect_failures,
            reconnect_base_delay=settings.reconnect_base_delay,
            reconnect_max_delay=settings.reconnect_max_delay,
        )


def _secret(spec: Mapping[str, object], name: str) -> str:
    value = spec.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{name} is required for the cloud engine (a non-empty string)")
    if len(value) > _SECRET_MAX or not value.isprintable():
        raise InvalidRequest(f"{name} must be at most {_SECRET_MAX} printable characters")
    return value


def _number(spec: Mapping[str, object], name: str, default: float, low: float, high: float) -> str:
    value = spec.get(name)
    if value is None:
        return repr(default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequest(f"{name} must be a number")
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low:g} and {high:g}")
    return repr(float(value))


def _base_url(spec: Mapping[str, object]) -> str:
    value = spec.get("base_url")
    if value is None:
        return DEFAULT_BASE_URL
    if not isinstance(value, str):
        raise InvalidRequest("base_url must be a string")
    url = value.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("base_url must be an http:// or https:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidRequest("base_url must not carry credentials, a query or a fragment")
    return url


def check_spec(spec: Mapping[str, object]) -> tuple[dict[str, str], CloudCredentials]:
    """The non-secret config and the secrets of a creation request (``InvalidRequest``)."""
    for name in _WAC1_FIELDS:
        if spec.get(name) is not None:
            raise InvalidRequest(f"{name} is a field of the wac1 engine, not of cloud")
    if spec.get("register") is True:
        raise InvalidRequest("register is a field of the wac1 engine, not of cloud")
    phone_number_id = spec.get("phone_number_id")
    if not isinstance(phone_number_id, str) or not _PHONE_NUMBER_ID.match(phone_number_id):
        raise InvalidRequest("phone_number_id is required: the Graph id of the number (digits)")
    version = spec.get("api_version") or DEFAULT_API_VERSION
    if not isinstance(version, str) or not _API_VERSION.match(version):
        raise InvalidRequest("api_version must look like v23.0")
    creds = CloudCredentials(
        access_token=_secret(spec, "access_token"),
        app_secret=_secret(spec, "app_secret"),
        verify_token=_secret(spec, "verify_token"),
    )
    config = {
        "phone_number_id": phone_number_id,
        "api_version": version,
        "base_url": _base_url(spec),
        "rate_per_second": _number(spec, "rate_per_second", DEFAULT_RATE, 0.1, 10_000),
        "pair_spacing": _number(spec, "pair_spacing", DEFAULT_PAIR_SPACING, 0, 3600),
    }
    return config, creds


class CloudFactory:
    name = "cloud"

    def __init__(
        self,
        options: Optional[CloudOptions] = None,
        *,
        registry: Optional[CollectorRegistry] = None,
    ) -> None:
        """``registry``: where the Cloud client's metrics (``whatsapp_*``: latency, retries,
        breaker state...) of every cloud session go; the gateway's own, for ``/metrics``."""
        self.options = options or CloudOptions()
        self._registry = registry
        self._metrics: Optional[CloudMetrics] = None

    def validate(self, spec: Mapping[str, object]) -> tuple[dict[str, str], bytes]:
        if importlib.util.find_spec("phonenumbers") is None:
            raise InvalidRequest(
                "the cloud engine needs the cloud extra: pip install 'whatsapp-client[cloud]'"
            )
        config, creds = check_spec(spec)
        return config, msgspec.json.encode(creds)

    @staticmethod
    def account(config: Mapping[str, str]) -> tuple[Optional[str], ...]:
        """What makes two sessions the same account: one number behind one Graph URL."""
        return (config.get("base_url"), config.get("phone_number_id"))

    def build(
        self,
        session_id: str,
        config: Mapping[str, str],
        credentials: bytes,
        directory: Path,
        listener: EngineListener,
        *,
        register: bool,
    ) -> CloudEngine:
        from whatsapp_client.cloud._metrics import CloudMetrics
        from whatsapp_client.gateway._cloud_engine import CloudEngine

        if self._metrics is None:
            # One set for all sessions (a registry holds each name once), labelled by number.
            self._metrics = CloudMetrics(registry=self._registry)
        creds = msgspec.json.decode(credentials, type=CloudCredentials)
        return CloudEngine(
            session_id, config, creds, directory, listener, self.options, metrics=self._metrics
        )
