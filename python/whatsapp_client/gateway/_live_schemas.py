"""Answers of the live data routes (msgspec structs; the OpenAPI document is built from
them)."""

from __future__ import annotations

from typing import Optional

import msgspec

from whatsapp_client.gateway._log_buffer import LogEntry


class MinuteCounts(msgspec.Struct, kw_only=True):
    minute: int  # start of the minute, ms since the epoch
    sent: int
    received: int
    failed: int


class StatsCounters(msgspec.Struct, kw_only=True):
    sent: int
    received: int
    failed: int


class SessionStats(msgspec.Struct, kw_only=True):
    session_id: str
    status: str
    counters: StatsCounters
    queue_depth: int
    connected_since: Optional[int]
    uptime_seconds: Optional[float]
    last_activity_at: Optional[int]
    # The last 60 minutes, oldest first, zeros included.
    per_minute: list[MinuteCounts]


class LogPage(msgspec.Struct, kw_only=True):
    items: list[LogEntry]
    # ``before`` of the next (older) page; None at the end.
    next: Optional[int]
