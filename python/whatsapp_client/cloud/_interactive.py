"""Interactive messages: reply buttons (at most 3) and lists, validated before sending.

Limits from
https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages/#interactive-object :
body 1024 characters, header/footer 60, button title 20 and id 256, list button 20,
at most 10 sections and 10 rows in all, row title 24, description 72, row id 200.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import msgspec

from whatsapp_client.cloud._errors import ValidationError
from whatsapp_client.cloud._payloads import envelope

__all__ = ["ListRow", "ListSection", "ReplyButton", "buttons_payload", "list_payload"]


class ReplyButton(msgspec.Struct, frozen=True):
    id: str
    title: str


class ListRow(msgspec.Struct, frozen=True):
    id: str
    title: str
    description: Optional[str] = None


class ListSection(msgspec.Struct, frozen=True):
    rows: list[ListRow]
    title: Optional[str] = None


def _text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty string")
    if len(value) > limit:
        raise ValidationError(f"{what} is {len(value)} characters; at most {limit}")
    return value


def _frame(body: str, header: Optional[str], footer: Optional[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"body": {"text": _text(body, "body", 1024)}}
    if header is not None:
        out["header"] = {"type": "text", "text": _text(header, "header", 60)}
    if footer is not None:
        out["footer"] = {"text": _text(footer, "footer", 60)}
    return out


def buttons_payload(
    to: str,
    body: str,
    buttons: Sequence[Union[ReplyButton, tuple[str, str]]],
    header: Optional[str] = None,
    footer: Optional[str] = None,
) -> dict[str, Any]:
    """Reply buttons, given as ``ReplyButton`` or ``(id, title)`` pairs."""
    items = [b if isinstance(b, ReplyButton) else ReplyButton(*b) for b in buttons]
    if not 1 <= len(items) <= 3:
        raise ValidationError(f"reply buttons: give 1 to 3 buttons, not {len(items)}")
    ids = [_text(b.id, "button id", 256) for b in items]
    if len(set(ids)) != len(ids):
        raise ValidationError("reply buttons: ids must be unique")
    titles = [_text(b.title, "button title", 20) for b in items]
    if len(set(titles)) != len(titles):
        raise ValidationError("reply buttons: titles must be unique")
    interactive = _frame(body, header, footer)
    interactive["type"] = "button"
    interactive["action"] = {
        "buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in zip(ids, titles)]
    }
    return envelope(to, "interactive", interactive)


def _section(s: Union[ListSection, Mapping[str, Any]]) -> ListSection:
    if isinstance(s, ListSection):
        return s
    if not isinstance(s, Mapping):
        raise ValidationError("a list section must be a ListSection or a dict")
    try:
        return msgspec.convert(s, ListSection)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"list section: {exc}") from None


def list_payload(
    to: str,
    body: str,
    button: str,
    sections: Sequence[Union[ListSection, Mapping[str, Any]]],
    header: Optional[str] = None,
    footer: Optional[str] = None,
) -> dict[str, Any]:
    secs = [_section(s) for s in sections]
    if not 1 <= len(secs) <= 10:
        raise ValidationError(f"list: give 1 to 10 sections, not {len(secs)}")
    rows = [r for s in secs for r in s.rows]
    if not 1 <= len(rows) <= 10:
        raise ValidationError(f"list: give 1 to 10 rows in all, not {len(rows)}")
    ids = [_text(r.id, "row id", 200) for r in rows]
    if len(set(ids)) != len(ids):
        raise ValidationError("list: row ids must be unique")
    out_sections = []
    for s in secs:
        if not s.rows:
            raise ValidationError("list: every section needs at least one row")
        entry: dict[str, Any] = {"rows": []}
        if s.title is not None or len(secs) > 1:
            entry["title"] = _text(s.title, "section title (needed with several sections)", 24)
        for r in s.rows:
            row: dict[str, Any] = {"id": r.id, "title": _text(r.title, "row title", 24)}
            if r.description is not None:
                row["description"] = _text(r.description, "row description", 72)
            entry["rows"].append(row)
        out_sections.append(entry)
    interactive = _frame(body, header, footer)
    interactive["type"] = "list"
    interactive["action"] = {"button": _text(button, "list button", 20), "sections": out_sections}
    return envelope(to, "interactive", interactive)
