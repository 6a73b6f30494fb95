"""Gateway settings: one frozen dataclass from defaults, a config file, ``WHATSAPP_GATEWAY_*``
and flags (later wins). Field names double as flag names (``--max-queue``) and environment
names (``WHATSAPP_GATEWAY_MAX_QUEUE``)."""

from __future__ import annotations

import dataclasses

ENV_PREFIX = "WHATSAPP_GATEWAY_"
MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 8090
    # Everything the gateway keeps: database, master key file, session stores, media.
    data_dir: str = "./gateway-data"
    # Where the records are: None keeps them in SQLite under data_dir; a postgresql:// DSN
    # puts them in PostgreSQL (media files and the master key stay under data_dir). Not in
    # the repr: a DSN may carry a password.
    database: str | None = dataclasses.field(default=None, repr=False)
    database_max_connections: int = 10
    # The address callers reach the gateway at; media URLs in webhooks are built on it.
    base_url: str | None = None
    config: str | None = None
    log_level: str = "INFO"
    tls_cert: str | None = None
    tls_key: str | None = None
    # Comma-separated admin keys from the environment (WHATSAPP_GATEWAY_API_KEYS).
    # Not in the repr: settings may end up in a log or a traceback.
    api_keys: str | None = dataclasses.field(default=None, repr=False)
    # Honour X-Forwarded-For / X-Forwarded-Proto only from these proxies (comma-separated
    # addresses); empty: never.
    trusted_proxies: str = ""

    # Sending.
    max_file_bytes: int = 16 * MIB
    max_queue: int = 10_000
    rate_limit_per_minute: int = 50
    idempotency_ttl_seconds: int = 24 * 3600

    # Sessions.
    max_reconnect_failures: int = 5
    reconnect_base_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    # Several processes on one storage (docs/gateway-processes.md): a process runs a session
    # while it holds its lease, renewed every lease_ttl / 3 seconds; a dead process's sessions
    # and webhook endpoints are taken over within lease_ttl. Sends queued through another
    # process are noticed within queue_poll_interval seconds.
    lease_ttl: float = 15.0
    queue_poll_interval: float = 1.0
    # This process's id in the leases; default: host name and port (kept across a restart
    # in place). Processes running at the same time must have different ids.
    process_id: str | None = None

    # Webhooks.
    webhook_timeout: float = 10.0
    # Refuse endpoints on loopback, private and link-local addresses (shared deployments).
    webhook_block_private: bool = False
    webhook_max_age_seconds: int = 24 * 3600
    webhook_concurrency: int = 64
    # Finished webhook deliveries (and events no longer needed) are kept this long, for the
    # deliveries list and redelivery; a sweep every retention_sweep_interval seconds.
    delivery_retention_seconds: int = 7 * 24 * 3600
    retention_sweep_interval: float = 3600.0

    # API keys: failed attempts per client address before 429.
    auth_failures_per_address: int = 20
    auth_failure_window_seconds: float = 300.0

    # Operator accounts. The first admin's email; its password is random and printed once
    # unless admin_password is given (then it need not be changed at first login).
    admin_email: str = "admin@localhost"
    admin_password: str | None = dataclasses.field(default=None, repr=False)
    # Mark the session cookie Secure even over plain http (behind a TLS-terminating proxy).
    cookie_secure: bool = False
    access_token_seconds: int = 15 * 60
    refresh_token_seconds: int = 30 * 24 * 3600
    browser_session_seconds: int = 12 * 3600
    # Failed logins before 429, per client address and per email, in the window.
    login_failures_per_address: int = 20
    login_failures_per_email: int = 5
    login_failure_window_seconds: float = 900.0

    # Live data (dashboard): log records kept in memory for /api/v1/logs, and the seconds
    # between two heartbeats of /api/v1/events/stream.
    log_buffer_records: int = 2000
    stream_heartbeat_seconds: float = 15.0
