"""Edge cases of the feature modules: bad input everywhere, unusual images, offline
verification synced later, blocking-client wrappers."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from whatsapp_client import (
    MediaError,
    NotFoundError,
    ValidationError,
    WhatsAppClient,
)
from whatsapp_client.client import Message
from whatsapp_client.client.fingerprints import parse_qr_payload, validate_fingerprint
from whatsapp_client.client.media import (
    decode_image,
    downscale_image,
    file_payload,
    image_payload,
    open_image,
    save_media,
)
from whatsapp_client.server.testing import ServerHandle

from .conftest import Registered, eventually

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


def message(**fields: object) -> Message:
    base: dict[str, object] = {"id": "m1", "from_user": "a", "to": "b", "content": ""}
    base.update(fields)
    return Message(**base)  # type: ignore[arg-type]


def test_payload_validation() -> None:
    with pytest.raises(ValidationError):
        image_payload(PNG, "image/png", 42, None, 100)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        image_payload(PNG, "image/png", "x" * 101, None, 100)
    with pytest.raises(ValidationError):
        image_payload(PNG, "image/png", "\ud800", None, 100)
    with pytest.raises(ValidationError):
        image_payload(PNG, "image/png", None, "..", 100)
    assert image_payload(PNG, "image/png", "", "dir/a.png", 100)["filename"] == "a.png"
    with pytest.raises(ValidationError):
        file_payload(b"x", "text/plain", "", None, 100)
    with pytest.raises(ValidationError):
        file_payload(b"x", "plain", "a.txt", None, 100)


def test_decode_and_open_errors() -> None:
    with pytest.raises(MediaError):
        decode_image(message(type="text", content="hi"))
    with pytest.raises(MediaError):
        decode_image(message(type="image", payload={"type": "image", "data": "!!"}))
    with pytest.raises(ValidationError):
        decode_image(42)  # type: ignore[arg-type]
    # Right magic bytes, broken image: Pillow cannot decode it.
    with pytest.raises(MediaError):
        open_image(PNG)
    with pytest.raises(MediaError):
        downscale_image(PNG, "image/png", 10)
    with pytest.raises(ValidationError):
        downscale_image(PNG, "image/png", 0)


def test_downscaling_keeps_small_and_animated_images_and_converts_jpeg_modes() -> None:
    from PIL import Image

    small = io.BytesIO()
    Image.new("RGB", (20, 10)).save(small, format="PNG")
    assert downscale_image(small.getvalue(), "image/png", 100) == small.getvalue()

    frames = [Image.new("RGB", (200, 200), c) for c in ((255, 0, 0), (0, 0, 255))]
    anim = io.BytesIO()
    frames[0].save(anim, format="GIF", save_all=True, append_images=frames[1:])
    assert downscale_image(anim.getvalue(), "image/gif", 50) == anim.getvalue()

    # A JPEG in CMYK comes out as an RGB JPEG of the right size.
    cmyk = io.BytesIO()
    Image.new("CMYK", (300, 100)).save(cmyk, format="JPEG")
    out = downscale_image(cmyk.getvalue(), "image/jpeg", 150)
    with Image.open(io.BytesIO(out)) as img:
        assert img.size == (150, 50) and img.format == "JPEG"


async def test_save_media_errors_and_generated_names(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        await save_media("not a message", tmp_path, image_only=False)  # type: ignore[arg-type]
    with pytest.raises(MediaError):
        await save_media(message(type="text"), tmp_path, image_only=False)
    with pytest.raises(MediaError):
        await save_media(message(type="file", payload={"type": "file"}), tmp_path, image_only=False)
    doc = message(
        type="file",
        payload={"type": "file", "mime": "application/pdf", "data": "JVBERg=="},
    )
    out = await save_media(doc, tmp_path, image_only=False)
    assert out == tmp_path / "m1.pdf" and out.read_bytes() == b"%PDF"
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(ValidationError):
        await save_media(doc, blocker / "below" / "x.pdf", image_only=False)


async def test_media_argument_errors(registered: Registered, tmp_path: Path) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    with pytest.raises(ValidationError):
        await alice.send_image(bob.user_id, image_data="text")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await alice.send_image(bob.user_id, image_path=42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await alice.send_file(bob.user_id, path=tmp_path)  # a directory
    with pytest.raises(ValidationError):
        await alice.send_image(bob.user_id, image_data=PNG, caption=42)  # type: ignore[arg-type]
    assert await alice.pending_messages() == 0


def test_fingerprint_parsing() -> None:
    fp = "ab" * 32
    assert validate_fingerprint(fp.upper()) == fp
    with pytest.raises(ValidationError):
        parse_qr_payload("WAC1-FP:" + fp)  # no user id
    with pytest.raises(ValidationError):
        parse_qr_payload(42)  # type: ignore[arg-type]
    assert parse_qr_payload(f"WAC1-FP:user:with:colons:{fp}") == ("user:with:colons", fp)


async def test_verification_made_offline_reaches_the_server_after_the_reconnect(
    server: ServerHandle, registered: Registered
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    b_id = bob.user_id
    fp = await alice.get_peer_fingerprint(b_id)
    await server.stop()
    await alice.verify_fingerprint(b_id, fp)  # stored locally; the copy waits
    assert await alice.is_fingerprint_verified(b_id)
    await server.start()
    assert await alice.wait_until_connected(10)

    async def synced() -> bool:
        record = await alice.get_verification_record(b_id)
        return record is not None and record["verified"] is True

    loop = asyncio.get_running_loop()
    end = loop.time() + 10
    while not await synced():
        assert loop.time() < end, "the verification never reached the server"
        await asyncio.sleep(0.05)
    assert await alice._fingerprints.sync_pending() == 0
    with pytest.raises(ValidationError):
        await alice.verify_fingerprint(b_id, fp, verified="yes")  # type: ignore[arg-type]


async def test_group_input_errors(registered: Registered) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    group = await alice.create_group("Team", member_ids=[bob.user_id])
    with pytest.raises(ValidationError):
        await alice.update_group(group.id)
    with pytest.raises(ValidationError):
        await alice.update_group(group.id, name=" ")
    with pytest.raises(ValidationError):
        await alice.update_group(group.id, description=42)  # type: ignore[arg-type]
    updated = await alice.update_group(group.id, description="new words")
    assert updated.description == "new words"
    with pytest.raises(ValidationError):
        await alice.create_group("x", description=42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await alice.get_group_messages(group.id, limit=0)
    with pytest.raises(ValidationError):
        await alice.get_group_messages(group.id, before=-1)
    with pytest.raises(ValidationError):
        await alice.send_group_message(group.id, "\ud800")
    with pytest.raises(NotFoundError):
        await alice.add_group_member(group.id, "no-such-user")
    with pytest.raises(NotFoundError):
        await alice.remove_group_member(group.id, "no-such-user")
    older = await alice.get_group_messages(group.id, before=1)
    assert older == []


async def test_typing_and_presence_corner_cases(registered: Registered) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert alice.user_id and bob.user_id
    a_id = alice.user_id
    with pytest.raises(ValidationError):
        await alice.send_typing(bob.user_id, "yes")  # type: ignore[arg-type]
    # Stopping when not typing sends a stop and reports nothing at the peer.
    seen: list[tuple[str, bool]] = []
    bob.on_typing(lambda uid, on: seen.append((uid, on)))
    assert await alice.send_typing(bob.user_id, False)
    await alice.send_typing(bob.user_id, True, auto_stop=None)
    await eventually(lambda: seen == [(a_id, True)], what="typing")
    assert alice.get_typing_users() == set()
    # Subscribing to oneself or twice to the same user is harmless.
    await alice.subscribe_presence([a_id, bob.user_id, bob.user_id])
    await alice.subscribe_presence(bob.user_id)
    b_id = bob.user_id
    await eventually(lambda: alice.is_user_online(b_id), what="bob online")
    assert alice._presence.watched() == {b_id}


def test_blocking_client_feature_wrappers(tmp_path: Path) -> None:
    from whatsapp_client.server.testing import server_in_thread
    from whatsapp_client.sync import WhatsAppClient as SyncClient

    from .conftest import CLIENT_OPTIONS, PASSWORD, SERVER_SETTINGS, unique_name

    with server_in_thread(str(tmp_path / "srv"), **SERVER_SETTINGS) as server:
        opts = {"server_url": server.url, "storage_path": str(tmp_path / "s"), **CLIENT_OPTIONS}
        with SyncClient(**opts) as alice, SyncClient(**opts) as bob:
            alice.register(unique_name("alice"), PASSWORD)
            bob.register(unique_name("bob"), PASSWORD)
            assert alice.user_id and bob.user_id
            b_id = bob.user_id
            alice.subscribe_presence([b_id])
            assert alice.get_typing_users() == set()
            alice.on_presence(lambda uid, on: None)
            alice.send_file(b_id, data=b"hello", filename="a.txt")
            img = alice.send_image(b_id, image_data=PNG)
            assert alice.decode_image(img) == PNG
            assert alice.save_image(img, tmp_path / "a.png").read_bytes() == PNG
            doc = alice.send_file(b_id, data=b"doc", filename="d.txt")
            assert alice.save_file(doc, tmp_path / "d.txt").read_bytes() == b"doc"
            with pytest.raises(MediaError):
                alice.open_image(PNG)
            fp = alice.get_peer_fingerprint(b_id)
            assert alice.compare_fingerprints(fp, bob.get_fingerprint())
            alice.verify_fingerprint(b_id, fp)
            record = alice.get_verification_record(b_id)
            assert record is not None and record["verified"] is True
            assert alice.fingerprint_qr_payload().startswith("WAC1-FP:")
            alice.generate_fingerprint_qr()
            assert bob.verify_fingerprint_qr(alice.fingerprint_qr_payload()) == alice.user_id
            group = alice.create_group("Blocking", member_ids=[b_id])
            assert alice.get_group(group.id).name == "Blocking"
            assert alice.update_group(group.id, name="B2").name == "B2"
            alice.add_group_member(group.id, b_id, role="admin")
            alice.send_group_message(group.id, "hi")
            assert alice.sync_groups() == 0
            bob.leave_group(group.id)
            assert bob.get_groups() == []
            assert alice.get_last_seen(b_id) is None
            assert alice.is_user_online(b_id) in (True, False)
            assert isinstance(alice.get_online_users(), set)


def test_async_wrappers_exist() -> None:
    assert WhatsAppClient.compare_fingerprints("ab" * 32, "AB" * 32)
