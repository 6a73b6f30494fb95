"""Shared input rules: client-chosen message ids (§7) and strict decimal integers."""

from __future__ import annotations

import re
from collections.abc import Iterable

# The rule every layer shares: 1 to 128 characters, each printable ASCII 0x21..=0x7E.
MESSAGE_ID_RE = re.compile(r"[\x21-\x7e]{1,128}")
MESSAGE_ID_RULE = "message ids are 1-128 printable ASCII characters (0x21-0x7E)"
# Only ASCII digits: int() alone also takes "+5", "1_0", " 5" and Arabic-Indic digits.
_DIGITS_RE = re.compile(r"[0-9]{1,19}")


def valid_message_id(value: object) -> bool:
    return isinstance(value, str) and MESSAGE_ID_RE.fullmatch(value) is not None


def all_valid_ids(values: Iterable[object]) -> bool:
    return all(valid_message_id(value) for value in values)


def strict_uint(raw: str) -> int | None:
    """``raw`` as a non-negative integer if it is 1-19 ASCII digits, else None."""
    if _DIGITS_RE.fullmatch(raw) is None:
        return None
    return int(raw)
