"""Prometheus metrics, one registry per server instance (tests run several in a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge(
            "wac_websocket_connections", "Open WebSocket connections.", ["state"], registry=r
        )
        self.messages_relayed = Counter(
            "wac_messages_relayed", "Messages accepted and stored.", ["kind"], registry=r
        )
        self.queue_depth = Gauge(
            "wac_queue_depth", "Direct messages stored and not yet acknowledged.", registry=r
        )
        self.auth_failures = Counter(
            "wac_auth_failures", "Failed logins and rejected tokens.", ["kind"], registry=r
        )
        self.rate_limited = Counter(
            "wac_rate_limited", "Requests or frames refused by a limit.", ["limit"], registry=r
        )
        self.request_latency = Histogram(
            "wac_http_request_duration_seconds",
            "REST request latency.",
            ["method", "route", "status"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.commit_batch = Histogram(
            "wac_db_commit_batch_size",
            "Operations per database commit.",
            registry=r,
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
        )
        self.attachment_uploads = Counter(
            "wac_attachment_uploads",
            "Attachment uploads by result (stored, too_large, quota, disk_full, timeout).",
            ["result"],
            registry=r,
        )
        self.attachment_upload_bytes = Counter(
            "wac_attachment_upload_bytes", "Bytes of attachment blobs stored.", registry=r
        )
        self.attachment_downloads = Counter(
            "wac_attachment_downloads", "Attachment downloads started.", registry=r
        )
        for state in ("authenticated", "unauthenticated"):
            self.connections.labels(state)

    def render(self) -> bytes:
        return generate_latest(self.registry)
