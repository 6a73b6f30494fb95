"""Prometheus metrics of the Cloud API client, on a registry of their own by default (so
several clients and the tests can live in one process); pass ``registry=`` to share one,
e.g. ``prometheus_client.REGISTRY`` to have them on an existing ``/metrics``.

Series (see docs/guides/cloud-limits.md):

- ``whatsapp_messages_sent_total{type}``: messages Graph accepted, by message type
- ``whatsapp_media_downloads_total{status}``: media downloads by outcome
- ``whatsapp_api_latency_seconds{endpoint}``: Graph request latency (histogram)
- ``whatsapp_rate_limit_remaining{phone_number_id}``: business-initiated conversations the
  phone number may still open in the rolling 24 h (set by the limiters)
- ``whatsapp_breaker_state{phone_number_id}``: 0 closed, 1 half-open, 2 open
- ``whatsapp_retries_total{endpoint}``: requests the transport retried
"""

from __future__ import annotations

from typing import Optional

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ._errors import ValidationError

__all__ = ["BREAKER_STATE_VALUES", "CloudMetrics"]

BREAKER_STATE_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class CloudMetrics:
    """The client's metrics. Every method is cheap and never raises for a valid label."""

    def __init__(self, registry: Optional[CollectorRegistry] = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self._sent = Counter(
            "whatsapp_messages_sent",
            "Messages the Cloud API accepted, by message type.",
            ["type"],
            registry=r,
        )
        self._downloads = Counter(
            "whatsapp_media_downloads",
            "Media downloads by outcome (success, error, not_found...).",
            ["status"],
            registry=r,
        )
        self._latency = Histogram(
            "whatsapp_api_latency_seconds",
            "Latency of Graph API requests, by endpoint.",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self._remaining = Gauge(
            "whatsapp_rate_limit_remaining",
            "Business-initiated conversations the phone number may still open in the "
            "rolling 24 hours.",
            ["phone_number_id"],
            registry=r,
        )
        self._breaker = Gauge(
            "whatsapp_breaker_state",
            "Circuit breaker state per phone number: 0 closed, 1 half-open, 2 open.",
            ["phone_number_id"],
            registry=r,
        )
        self._retries = Counter(
            "whatsapp_retries",
            "Graph API requests retried, by endpoint.",
            ["endpoint"],
            registry=r,
        )

    def messages_sent(self, type: str) -> None:
        self._sent.labels(type=type).inc()

    def media_download(self, status: str) -> None:
        self._downloads.labels(status=status).inc()

    def api_latency(self, endpoint: str, seconds: float) -> None:
        self._latency.labels(endpoint=endpoint).observe(max(0.0, seconds))

    def rate_limit_remaining(self, phone: str, value: float) -> None:
        self._remaining.labels(phone_number_id=phone).set(value)

    def breaker_state(self, phone: str, state: str) -> None:
        """Usable directly as a :class:`CircuitBreaker` ``on_change`` callback."""
        try:
            value = BREAKER_STATE_VALUES[state]
        except KeyError:
            raise ValidationError(
                f"unknown breaker state {state!r}; expected one of {sorted(BREAKER_STATE_VALUES)}"
            ) from None
        self._breaker.labels(phone_number_id=phone).set(value)

    def retry(self, endpoint: str) -> None:
        self._retries.labels(endpoint=endpoint).inc()
