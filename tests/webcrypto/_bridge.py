"""Calls into the test page's ``window.h`` (tests/webcrypto/page/harness.js)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from playwright.sync_api import Page


def call(page: Page, name: str, *args: Any) -> Any:
    """``await h[name](...args)`` in the page; arguments and result travel as JSON."""
    return page.evaluate("([name, args]) => window.h[name](...args)", [name, list(args)])


def ok(result: dict[str, Any], label: str) -> Any:
    """The value of a call that must succeed (``{ok, value}`` / ``{ok, code, message}``)."""
    assert result["ok"], f"{label}: failed with {result.get('code')}: {result.get('message')}"
    return result["value"]


def error_code(result: dict[str, Any], label: str) -> str:
    """The error code of a call that must fail."""
    assert not result["ok"], f"{label}: succeeded but should have failed"
    return str(result["code"])


def b(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def rule_plaintext(size: int, salt: int) -> bytes:
    """The attachment vectors' plaintext: byte i = (i*31 + 7 + salt) mod 256 (period 256)."""
    period = bytes((i * 31 + 7 + salt) % 256 for i in range(256))
    return (period * (size // 256 + 1))[:size]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def wire_body(wire: str) -> Any:
    assert wire.startswith("E2EE:"), wire[:40]
    return json.loads(wire[len("E2EE:") :])
