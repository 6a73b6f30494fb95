"""parse_webhook: every entry/change/message/status/error of a batch, typed; bad input is
a ValidationError and nothing else."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cloud._webhooks_samples import PHONE_A, PHONE_B, batch_payload, encode, text_payload
from whatsapp_client.cloud._errors import ValidationError
from whatsapp_client.cloud._events import (
    ErrorEvent,
    Event,
    GraphErrorInfo,
    Location,
    MessageEvent,
    StatusEvent,
    parse_webhook,
)


def _by_id(events: list[Event]) -> dict[str, MessageEvent]:
    return {e.message_id: e for e in events if isinstance(e, MessageEvent)}


def test_batch_yields_every_message_status_and_error_in_order() -> None:
    payload = batch_payload()
    events = parse_webhook(encode(payload))
    messages = [e for e in events if isinstance(e, MessageEvent)]
    statuses = [e for e in events if isinstance(e, StatusEvent)]
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    sent_messages = payload["entry"][0]["changes"][0]["value"]["messages"]
    assert [m.message_id for m in messages] == [m["id"] for m in sent_messages]
    # Four statuses in entry 0 (phone A) and four in entry 1 (phone B).
    assert [(s.phone_number_id, s.status) for s in statuses] == [
        (PHONE_A, "sent"), (PHONE_A, "delivered"), (PHONE_A, "read"), (PHONE_A, "failed"),
        (PHONE_B, "sent"), (PHONE_B, "delivered"), (PHONE_B, "read"), (PHONE_B, "failed"),
    ]  # fmt: skip
    assert len(errors) == 1
    assert len(events) == len(messages) + 8 + 1
    # Order: entry 0 messages, entry 0 statuses, entry 1 error, entry 1 statuses.
    kinds = [e.kind for e in events]
    assert kinds == ["message"] * len(messages) + ["status"] * 4 + ["error"] + ["status"] * 4


def test_every_message_type_is_typed() -> None:
    m = _by_id(parse_webhook(encode(batch_payload())))
    text = m["wamid.text1"]
    assert (text.type, text.text, text.from_, text.timestamp) == (
        "text", "Does it come in another color?", "16505551234", 1749416383,
    )  # fmt: skip
    assert text.phone_number_id == PHONE_A and text.display_phone_number == "15550783881"
    assert text.business_account_id == "102290129340398"
    assert text.contact_name == "Sheena Nelson"
    assert text.raw["text"] == {"body": "Does it come in another color?"}
    img = m["wamid.img1"]
    assert (img.media_id, img.mime_type, img.caption, img.sha256) == (
        "1003383421387256", "image/jpeg", "look", "aa" * 32,
    )  # fmt: skip
    audio = m["wamid.aud1"]
    assert (audio.type, audio.media_id, audio.voice) == ("audio", "1003383421387257", True)
    assert audio.mime_type == "audio/ogg; codecs=opus"
    assert m["wamid.vid1"].media_id == "1003383421387258"
    doc = m["wamid.doc1"]
    assert (doc.filename, doc.caption, doc.mime_type) == ("inv.pdf", "invoice", "application/pdf")
    assert (m["wamid.stk1"].type, m["wamid.stk1"].media_id) == ("sticker", "1003383421387260")
    assert m["wamid.loc1"].location == Location(37.483, -122.148, "Philz", "1 Hacker Way")
    contacts = m["wamid.con1"]
    assert contacts.type == "contacts"
    assert contacts.raw["contacts"][0]["name"]["formatted_name"] == "Barbara J. Johnson"
    btn = m["wamid.btn1"]
    assert (btn.interactive_reply_id, btn.interactive_reply_title) == ("yes-1", "Yes")
    assert (btn.reply_to, btn.reply_to_from) == ("wamid.ours1", "15550783881")
    lst = m["wamid.lst1"]
    assert (lst.type, lst.interactive_reply_id, lst.interactive_reply_title) == (
        "interactive", "row-2", "Blue",
    )  # fmt: skip
    tbtn = m["wamid.tbtn1"]
    assert (tbtn.type, tbtn.text, tbtn.button_payload, tbtn.reply_to) == (
        "button", "Stop promotions", "STOP", "wamid.tmpl1",
    )  # fmt: skip
    rea = m["wamid.rea1"]
    assert (rea.reaction_emoji, rea.reaction_message_id) == ("👍", "wamid.ours1")
    assert m["wamid.sys1"].system_body == "User changed number"
    unsupported = m["wamid.uns1"]
    assert unsupported.type == "unsupported"
    assert unsupported.errors == [
        GraphErrorInfo(131051, "Message type unknown", "Message type unknown",
                       "Message type is currently not supported."),
    ]  # fmt: skip
    assert m["wamid.fwd1"].forwarded is True and m["wamid.text1"].forwarded is False


def test_statuses_carry_conversation_pricing_and_errors() -> None:
    events = parse_webhook(encode(batch_payload()))
    statuses = [e for e in events if isinstance(e, StatusEvent)]
    sent = statuses[0]
    assert (sent.message_id, sent.recipient_id, sent.timestamp) == (
        "wamid.922.out1", "16505551234", 1750857384,
    )  # fmt: skip
    assert sent.conversation_id == "a75d17ad06104c51166f948319b03c6a"
    assert (sent.conversation_origin, sent.conversation_expiration) == ("service", 1750943820)
    assert (sent.pricing_category, sent.pricing_model, sent.billable) == ("service", "CBP", True)
    read = statuses[2]
    assert read.conversation_id is None and read.pricing_category is None
    failed = statuses[3]
    assert failed.status == "failed"
    assert [(e.code, e.details) for e in failed.errors] == [
        (131047, "More than 24 hours have passed"),
    ]
    assert failed.errors[0].href is not None


def test_value_level_errors_become_error_events() -> None:
    (err,) = [e for e in parse_webhook(encode(batch_payload())) if isinstance(e, ErrorEvent)]
    assert (err.code, err.title, err.details) == (131000, "Something went wrong", "Unknown error")
    assert err.phone_number_id == PHONE_B
    assert err.timestamp == 1750857390  # the entry's time: value errors have none of their own


def test_unknown_fields_and_other_change_fields_are_ignored() -> None:
    payload = text_payload()
    value = payload["entry"][0]["changes"][0]["value"]
    value["brand_new_field"] = {"x": [1, 2]}
    value["messages"][0]["text"]["extra"] = True
    value["messages"][0]["referral"] = {"source_url": "https://example.com"}
    other = {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
    payload["entry"][0]["changes"].append(other)
    (ev,) = parse_webhook(encode(payload))
    assert isinstance(ev, MessageEvent) and ev.text == "hi"


def test_numeric_timestamps_are_accepted() -> None:
    payload = text_payload()
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = 1749416383
    (ev,) = parse_webhook(encode(payload))
    assert ev.timestamp == 1749416383


def _set(payload: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    node: Any = payload
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return payload


MSG = ["entry", 0, "changes", 0, "value", "messages", 0]


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        ([*MSG, "from"], 16505551234, "messages[0].from"),
        ([*MSG, "id"], None, "messages[0].id"),
        ([*MSG, "timestamp"], "yesterday", "not a number"),
        ([*MSG, "text"], "hi", "messages[0].text"),
        (["entry", 0, "changes", 0, "value", "metadata"], {}, "phone_number_id"),
        (["entry", 0, "changes"], {}, "entry[0].changes"),
        (["entry"], "nope", "$.entry"),
        (["object"], "page", "not a WhatsApp webhook"),
    ],
)
def test_wrong_types_are_refused_with_a_clear_message(
    path: list[Any], value: Any, needle: str
) -> None:
    body = encode(_set(text_payload(), path, value))
    with pytest.raises(ValidationError, match="webhook") as info:
        parse_webhook(body)
    assert needle in str(info.value)


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[]", b"null", b'"x"', b"{}", b"1e999"])
def test_not_json_or_not_an_object_is_refused(body: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_webhook(body)


def test_events_are_frozen_and_encode_with_their_kind() -> None:
    (ev,) = parse_webhook(encode(text_payload()))
    assert isinstance(ev, MessageEvent)
    with pytest.raises(AttributeError):
        ev.text = "changed"  # type: ignore[misc]
    encoded = json.loads(msgspec.json.encode(ev))
    assert encoded["kind"] == "message" and encoded["from"] == "16505551234"
    assert msgspec.json.decode(msgspec.json.encode(ev), type=Event) == ev


# --- fuzzing: nothing but ValidationError, whatever arrives ---------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)


def _outcome(body: bytes) -> None:
    try:
        events = parse_webhook(body)
    except ValidationError:
        return
    assert all(isinstance(e, (MessageEvent, StatusEvent, ErrorEvent)) for e in events)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    _outcome(body)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_fuzz_arbitrary_json(doc: Any) -> None:
    _outcome(json.dumps(doc).encode())


_KEYS = ["object", "entry", "changes", "value", "field", "metadata", "messages", "statuses",
         "errors", "contacts", "from", "id", "timestamp", "type", "text", "body", "image",
         "context", "interactive", "button_reply", "reaction", "conversation", "pricing",
         "code", "error_data", "expiration_timestamp", "location", "latitude"]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_real_payloads(data: st.DataObject) -> None:
    """Replace random nodes of a real batch with arbitrary JSON: still only ValidationError."""
    payload = batch_payload()
    for _ in range(data.draw(st.integers(1, 4))):
        node: Any = payload
        while True:
            children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            children = [
                (k, v) for k, v in children if isinstance(v, (dict, list)) and v
            ] or children
            if not children:
                break
            key, child = data.draw(st.sampled_from(children))
            if not isinstance(child, (dict, list)) or not child or data.draw(st.booleans()):
                replacement = data.draw(_json | st.sampled_from(_KEYS))
                if isinstance(node, dict) and data.draw(st.booleans()):
                    node[data.draw(st.sampled_from(_KEYS))] = replacement
                else:
                    node[key] = replacement
                break
            node = child
    _outcome(encode(payload))


def test_deep_nesting_is_a_validation_error_not_a_crash() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ValidationError):
        parse_webhook(body)
