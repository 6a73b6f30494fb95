"""Fixtures of the Cloud API tests: a throwaway ``redis-server`` for the shared limiter."""

from __future__ import annotations

from tests.redis_support import key_prefix, redis_server

__all__ = ["key_prefix", "redis_server"]
