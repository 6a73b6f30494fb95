from __future__ import annotations

from whatsapp_client.client.frames import (
    Ack,
    Auth,
    IncomingMessage,
    OutgoingMessage,
    Ping,
    Read,
    Sent,
    Status,
    UnknownFrame,
    decode_server_frame,
    encode_frame,
)
from whatsapp_client.client.receipts import read_frames, validate_ids


def test_client_frames_encode_as_the_protocol_says() -> None:
    assert encode_frame(Auth(token="t")) == '{"type":"auth","token":"t"}'
    assert encode_frame(OutgoingMessage(id="1", to="b", content="E2EE:{}")) == (
        '{"type":"message","id":"1","to":"b","content":"E2EE:{}"}'
    )
    assert encode_frame(Ack(ids=["a", "b"])) == '{"type":"ack","ids":["a","b"]}'
    assert encode_frame(Ping()) == '{"type":"ping"}'


def test_server_frames_decode() -> None:
    f = decode_server_frame(
        '{"timestamp":7,"content":"c","to":"b","from":"a","id":"m","type":"message"}'
    )
    assert f == IncomingMessage(id="m", from_="a", to="b", content="c", timestamp=7)
    assert decode_server_frame(b'{"type":"sent","id":"m","timestamp":3}') == Sent(
        id="m", timestamp=3
    )
    s = decode_server_frame('{"type":"status","message_ids":["m"],"status":"read","by":"u"}')
    assert isinstance(s, Status)
    assert s.status == "read"
    assert s.by == "u"


def test_unknown_and_malformed_frames_do_not_raise() -> None:
    u = decode_server_frame('{"type":"future_thing","x":1}')
    assert isinstance(u, UnknownFrame)
    assert u.type == "future_thing"
    assert u.data["x"] == 1
    assert decode_server_frame("not json") == UnknownFrame(type="", data={})
    assert decode_server_frame("[1,2]") == UnknownFrame(type="", data={})
    weird = decode_server_frame('{"type":5}')
    assert isinstance(weird, UnknownFrame)
    assert weird.type == ""


def test_read_frames_are_split_by_100() -> None:
    ids = [f"m{i}" for i in range(250)]
    frames = read_frames("peer", ids)
    assert [len(f.message_ids) for f in frames] == [100, 100, 50]
    assert all(isinstance(f, Read) and f.peer_id == "peer" for f in frames)
    assert [i for f in frames for i in f.message_ids] == ids
    assert validate_ids(["a", "b", "a"]) == ["a", "b"]
