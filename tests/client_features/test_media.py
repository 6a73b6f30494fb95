"""Images and files against the real server: type from the bytes, limits enforced before
sending, received media exposed and saved, optional downscaling with Pillow."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from whatsapp_client import MediaError, MissingExtraError, ValidationError, WhatsAppClient
from whatsapp_client.client import ClientConfig, Message
from whatsapp_client.client.media import check_frame_size, detect_image_mime, guess_file_mime

from .conftest import Registered, eventually

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + bytes(32)
GIF = b"GIF89a" + bytes(40)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(24)


def inbox(client: WhatsAppClient) -> list[Message]:
    got: list[Message] = []
    client.on_message(got.append)
    return got


def test_image_types_come_from_the_bytes() -> None:
    assert detect_image_mime(PNG) == "image/png"
    assert detect_image_mime(JPEG) == "image/jpeg"
    assert detect_image_mime(GIF) == "image/gif"
    assert detect_image_mime(b"GIF87a" + bytes(8)) == "image/gif"
    assert detect_image_mime(WEBP) == "image/webp"
    assert detect_image_mime(b"RIFF\x00\x00\x00\x00WAVE") is None
    assert detect_image_mime(b"%PDF-1.7") is None
    assert detect_image_mime(b"") is None
    assert guess_file_mime("report.pdf", b"%PDF-1.7") == "application/pdf"
    assert guess_file_mime("photo.txt", PNG) == "image/png"
    assert guess_file_mime(None, b"\x00\x01") == "application/octet-stream"


async def test_image_round_trip(registered: Registered, tmp_path: Path) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    got = inbox(bob)
    # The name says JPEG; the bytes say PNG; the bytes win.
    path = tmp_path / "holiday.jpg"
    path.write_bytes(PNG)
    sent = await alice.send_image(bob.user_id, image_path=path, caption="Look 🌅")
    assert sent.type == "image" and sent.status == "sent"
    assert sent.mime == "image/png" and sent.data == PNG

    await eventually(lambda: len(got) == 1, what="the image")
    msg = got[0]
    assert msg.type == "image" and msg.is_media
    assert msg.mime == "image/png"
    assert msg.caption == "Look 🌅" and msg.content == "Look 🌅"
    assert msg.filename == "holiday.jpg"
    assert msg.data == PNG
    assert msg.image_data is not None
    assert bob.decode_image(msg.image_data) == PNG
    assert bob.decode_image(msg) == PNG

    saved = await bob.save_image(msg, tmp_path / "in" / "copy.png")
    assert saved.read_bytes() == PNG
    into_dir = await bob.save_image(msg, tmp_path / "in")
    assert into_dir == tmp_path / "in" / "holiday.jpg" and into_dir.read_bytes() == PNG

    history = await bob.get_messages(alice.user_id or "", limit=5)
    assert [m.type for m in history] == ["image"] and history[0].data == PNG


@pytest.mark.parametrize(
    ("data", "mime"), [(JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")]
)
async def test_every_image_type_from_bytes(registered: Registered, data: bytes, mime: str) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    got = inbox(bob)
    await alice.send_image(bob.user_id, image_data=data)
    await eventually(lambda: len(got) == 1, what="the image")
    assert got[0].mime == mime and got[0].data == data and got[0].caption is None


async def test_files(registered: Registered, tmp_path: Path) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    got = inbox(bob)
    pdf = b"%PDF-1.7\n" + bytes(100)
    await alice.send_file(bob.user_id, data=pdf, filename="report.pdf", caption="Q3")
    (tmp_path / "song.mp3").write_bytes(b"ID3" + bytes(50))
    await alice.send_file(bob.user_id, path=tmp_path / "song.mp3")
    await alice.send_file(bob.user_id, data=b"\x00\x00", filename="clip.bin", mime="video/mp4")
    await eventually(lambda: len(got) == 3, what="three files")
    assert [(m.type, m.mime, m.filename) for m in got] == [
        ("file", "application/pdf", "report.pdf"),
        ("file", "audio/mpeg", "song.mp3"),
        ("file", "video/mp4", "clip.bin"),
    ]
    assert got[0].data == pdf and got[0].caption == "Q3"
    (tmp_path / "dl").mkdir()
    out = await bob.save_file(got[0], tmp_path / "dl")
    assert out.name == "report.pdf" and out.read_bytes() == pdf
    with pytest.raises(MediaError):
        await bob.save_image(got[0], tmp_path / "x.png")


async def test_unknown_image_type_is_refused_before_sending(
    registered: Registered, tmp_path: Path
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"this is not an image at all")
    with pytest.raises(MediaError) as info:
        await alice.send_image(bob.user_id, image_path=fake)
    assert info.value.code == "unsupported_image_type"
    with pytest.raises(MediaError):
        await alice.send_image(bob.user_id, image_data=b"BM" + bytes(100))  # BMP
    assert await alice.pending_messages() == 0
    assert await alice.get_messages(bob.user_id) == []


async def test_oversized_media_is_refused_before_sending(
    registered: Registered, tmp_path: Path
) -> None:
    alice = await registered("alice", media_max_bytes=1000)
    bob = await registered("bob")
    assert bob.user_id
    big = PNG + bytes(1000)
    with pytest.raises(MediaError, match="limit is 1000 bytes") as info:
        await alice.send_image(bob.user_id, image_data=big)
    assert info.value.code == "too_large"
    (tmp_path / "big.bin").write_bytes(bytes(5000))
    with pytest.raises(MediaError, match="limit is 1000"):
        await alice.send_file(bob.user_id, path=tmp_path / "big.bin")
    with pytest.raises(MediaError):
        await alice.send_file(bob.user_id, data=b"", filename="empty.txt")
    assert await alice.pending_messages() == 0
    assert await alice.get_messages(bob.user_id) == []


async def test_media_too_large_for_one_frame_goes_as_an_attachment(
    registered: Registered,
) -> None:
    """6 MiB cannot ride inline (an 8 MiB frame fits about 4.5 MiB): it goes as an
    encrypted attachment (PROTOCOL.md §8) instead of being refused."""
    alice = await registered("alice", media_max_bytes=16 * 1024 * 1024)
    bob = await registered("bob")
    assert bob.user_id
    got = inbox(bob)
    with pytest.raises(MediaError) as info:
        check_frame_size(6 * 1024 * 1024 * 4 // 3)
    assert info.value.code == "frame_too_large"
    data = bytes(range(256)) * (6 * 1024 * 1024 // 256)
    sent = await alice.send_file(bob.user_id, data=data, filename="big.bin")
    assert sent.is_attachment and "data" not in sent.payload
    await eventually(lambda: len(got) == 1, what="the big file")
    assert got[0].is_attachment
    out = await bob.download(got[0])  # above media_max_bytes: into the downloads folder
    assert isinstance(out, Path) and out.name == "big.bin" and out.read_bytes() == data


def test_media_limit_is_capped_at_16_mib() -> None:
    assert ClientConfig(server_url="http://x").media_max_bytes == 5 * 1024 * 1024
    ClientConfig(server_url="http://x", media_max_bytes=16 * 1024 * 1024)
    with pytest.raises(ValidationError):
        ClientConfig(server_url="http://x", media_max_bytes=16 * 1024 * 1024 + 1)


async def test_bad_arguments(registered: Registered, tmp_path: Path) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    with pytest.raises(ValidationError):
        await alice.send_image(bob.user_id)
    with pytest.raises(ValidationError):
        await alice.send_image(bob.user_id, image_path=tmp_path / "a", image_data=PNG)
    with pytest.raises(ValidationError):
        await alice.send_image(bob.user_id, image_path=tmp_path / "missing.png")
    with pytest.raises(ValidationError):
        await alice.send_file(bob.user_id, data=b"abc")  # no filename
    with pytest.raises(MediaError):
        WhatsAppClient.decode_image("not base64!")
    with pytest.raises(MediaError):
        WhatsAppClient.decode_image(b"plain bytes")


async def test_downscaling_with_pillow(registered: Registered) -> None:
    from PIL import Image

    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    got = inbox(bob)
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 30, 30)).save(buf, format="PNG")
    await alice.send_image(bob.user_id, image_data=buf.getvalue(), max_dimension=100)
    await eventually(lambda: len(got) == 1, what="the image")
    img = bob.open_image(got[0])
    assert img.size == (100, 75) and img.format == "PNG"


async def test_downscaling_without_pillow(
    registered: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(MissingExtraError, match=r"whatsapp-client\[images\]"):
        await alice.send_image(bob.user_id, image_data=PNG, max_dimension=100)
    assert await alice.pending_messages() == 0


def _image_message(mid: str = "m-1", filename: str | None = "holiday.png") -> Message:
    from whatsapp_client.client.media import image_payload

    payload = image_payload(PNG, "image/png", None, filename, 100)
    return Message(
        id=mid,
        from_user="peer",
        to="me",
        content="",
        type="image",
        timestamp=1,
        status="received",
        direction="in",
        payload=payload,
    )


@pytest.mark.parametrize("spelling", ["downloads/", "downloads"])
async def test_save_image_into_a_folder_that_does_not_exist_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    """``save_image(message, "downloads/")`` (the README's call) and a path without a suffix
    name a folder: it is created and the image goes inside under its own name."""
    monkeypatch.chdir(tmp_path)
    out = await WhatsAppClient.save_image(None, _image_message(), spelling)  # type: ignore[arg-type]
    assert (tmp_path / "downloads").is_dir()
    assert out.resolve() == (tmp_path / "downloads" / "holiday.png").resolve()
    assert out.read_bytes() == PNG


async def test_save_image_to_a_file_path_and_a_hostile_id(tmp_path: Path) -> None:
    out = await WhatsAppClient.save_image(None, _image_message(), tmp_path / "a" / "b.png")  # type: ignore[arg-type]
    assert out == tmp_path / "a" / "b.png" and out.read_bytes() == PNG
    # Without a file name the message id names the file: it cannot leave the folder.
    hostile = _image_message(mid="../../escape", filename=None)
    out = await WhatsAppClient.save_image(None, hostile, tmp_path / "in")  # type: ignore[arg-type]
    assert out.parent == tmp_path / "in" and out.read_bytes() == PNG
