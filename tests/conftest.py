"""Shared test configuration: asyncio debug mode for every test that runs a loop."""

from __future__ import annotations

import os

# asyncio debug mode reports blocking calls, never-awaited coroutines and leaked resources.
os.environ.setdefault("PYTHONASYNCIODEBUG", "1")
