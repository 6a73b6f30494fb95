"""The gateway's Prometheus metrics, on a registry of their own (one per gateway, so tests
can run several in a process). Served at ``/metrics``."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sessions = Gauge("gateway_sessions", "Sessions by status.", ["status"], registry=r)
        self.messages_sent = Counter(
            "gateway_messages_sent", "Messages sent, per session.", ["session"], registry=r
        )
        self.messages_received = Counter(
            "gateway_messages_received", "Messages received, per session.", ["session"], registry=r
        )
        self.messages_failed = Counter(
            "gateway_messages_failed", "Sends that failed, per session.", ["session"], registry=r
        )
        self.queue_depth = Gauge(
            "gateway_queue_depth",
            "Messages waiting in a session's send queue.",
            ["session"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "gateway_webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, retry, dead, disabled).",
            ["outcome"],
            registry=r,
        )
        self.webhook_latency = Histogram(
            "gateway_webhook_latency_seconds",
            "Time from an event's creation to its successful delivery.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.api_latency = Histogram(
            "gateway_api_latency_seconds",
            "API request latency by route and method.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

    def forget_session(self, session_id: str) -> None:
        """Drops a deleted session's series."""
        for metric in (
            self.messages_sent,
            self.messages_received,
            self.messages_failed,
            self.queue_depth,
        ):
            with contextlib.suppress(KeyError):
                metric.remove(session_id)
