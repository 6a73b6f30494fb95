"""Shared test configuration: asyncio debug mode for every test that runs a loop."""

from __future__ import annotations

import os

# asyncio debug mode reports blocking calls, never-awaited coroutines and leaked resources.
os.environ.setdefault("PYTHONASYNCIODEBUG", "1")
# Cheap Argon2 parameters (below the OWASP floor) for the stores the tests open. Honoured
# only by a test build of the extension (cargo feature ``test-hooks``); set in the
# environment so that child processes started by tests get it too.
os.environ.setdefault("WAC1_TEST_WEAK_KDF", "1")

# The browser suites' Chromium (per module; requested only by those suites).
from tests.browser_support import browser, playwright  # noqa: F401
