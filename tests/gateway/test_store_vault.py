"""The gateway vault: the Rust ``_core.Vault`` and its Python wrapper ``_vault.Vault``."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whatsapp_client._core import Vault as CoreVault
from whatsapp_client.errors import CryptoError, VaultError
from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._vault import KEY_ENV, KEY_FILE, Vault, bind

KEY = bytes(range(32))


@pytest.fixture
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)


def test_round_trip_and_layout() -> None:
    vault = Vault.from_key(KEY)
    blob = vault.seal(b"hello", b"ad")
    assert len(blob) == 12 + 5 + 16
    assert b"hello" not in blob
    assert vault.open(blob, b"ad") == b"hello"
    assert vault.open(vault.seal(b"", b""), b"") == b""
    assert vault.open(vault.seal(bytearray(b"ba"), b"x"), b"x") == b"ba"
    assert vault.open(vault.seal(memoryview(b"mv"), b"x"), b"x") == b"mv"
    assert vault.open_text(vault.seal_text("héllo", b"t"), b"t") == "héllo"


def test_large_plaintext_round_trips() -> None:
    vault = Vault.from_key(KEY)
    data = os.urandom(200_000)
    assert vault.open(vault.seal(data, b"big"), b"big") == data


def test_fresh_nonce_every_time() -> None:
    vault = Vault.from_key(KEY)
    assert vault.seal(b"same", b"ad") != vault.seal(b"same", b"ad")


def test_wrong_ad_or_key_refused() -> None:
    blob = Vault.from_key(KEY).seal(b"secret", bind("messages", "msg_1", "text"))
    with pytest.raises(VaultError, match="does not open"):
        Vault.from_key(KEY).open(blob, bind("messages", "msg_2", "text"))
    with pytest.raises(VaultError):
        Vault.from_key(bytes(32)).open(blob, bind("messages", "msg_1", "text"))


def test_every_bit_flip_and_truncation_refused() -> None:
    vault = Vault.from_key(KEY)
    blob = vault.seal(b"attack at dawn", b"ad")
    for bit in range(len(blob) * 8):
        bad = bytearray(blob)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(VaultError):
            vault.open(bytes(bad), b"ad")
    for length in range(len(blob)):
        with pytest.raises(VaultError):
            vault.open(blob[:length], b"ad")
    with pytest.raises(VaultError):
        vault.open(blob + b"\0", b"ad")


def test_vault_error_is_a_crypto_error_with_its_code() -> None:
    with pytest.raises(CryptoError) as info:
        Vault.from_key(KEY).open(b"short", b"")
    assert isinstance(info.value, VaultError)
    assert info.value.code == "vault_error"


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_key_of_wrong_length_refused(length: int) -> None:
    with pytest.raises(VaultError, match="32 bytes"):
        CoreVault(bytes(length))


def test_repr_hides_the_key() -> None:
    for vault in (Vault.from_key(KEY), CoreVault(KEY)):
        text = repr(vault)
        assert "redacted" in text
        assert KEY.hex() not in text and base64.b64encode(KEY).decode() not in text


def test_bind_is_unambiguous() -> None:
    assert bind("a", "bc") != bind("ab", "c")
    assert bind("x", 1) == bind("x", "1")
    assert bind() == b""


@settings(max_examples=60, deadline=None)
@given(plain=st.binary(max_size=2048), ad=st.binary(max_size=64), other=st.binary(max_size=64))
def test_property_round_trip_and_ad_binding(plain: bytes, ad: bytes, other: bytes) -> None:
    vault = Vault.from_key(KEY)
    blob = vault.seal(plain, ad)
    assert len(blob) == len(plain) + 28
    assert vault.open(blob, ad) == plain
    if other != ad:
        with pytest.raises(VaultError):
            vault.open(blob, other)


# --- key file and environment -----------------------------------------------------------------


def test_first_start_creates_a_0600_key_file(tmp_path: Path, no_env_key: None) -> None:
    data_dir = tmp_path / "data"
    first = Vault.open(data_dir)
    key_file = data_dir / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE]  # no temporary file left
    # The next start reads the same key.
    assert Vault.open(data_dir).open(first.seal(b"kept", b"ad"), b"ad") == b"kept"


def test_generate_file_refuses_to_replace(tmp_path: Path) -> None:
    path = tmp_path / "k"
    CoreVault.generate_file(path)
    before = path.read_bytes()
    with pytest.raises(VaultError, match="cannot create"):
        CoreVault.generate_file(path)
    assert path.read_bytes() == before


def test_key_file_readable_by_others_refused(tmp_path: Path, no_env_key: None) -> None:
    Vault.open(tmp_path)
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(VaultError, match="chmod 600"):
        Vault.open(tmp_path)


@pytest.mark.parametrize("content", [b"", b"x" * 31, b"x" * 33])
def test_key_file_of_wrong_length_refused(tmp_path: Path, no_env_key: None, content: bytes) -> None:
    path = tmp_path / KEY_FILE
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(VaultError, match="must hold 32 bytes"):
        Vault.open(tmp_path)
    assert path.read_bytes() == content


def test_env_key_wins_and_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, base64.b64encode(KEY).decode())
    vault = Vault.open(tmp_path)
    assert not (tmp_path / KEY_FILE).exists()
    assert Vault.from_key(KEY).open(vault.seal(b"x", b"a"), b"a") == b"x"


@pytest.mark.parametrize("length", [16, 31, 33])
def test_env_key_of_wrong_length_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, length: int
) -> None:
    monkeypatch.setenv(KEY_ENV, base64.b64encode(bytes(length)).decode())
    with pytest.raises(VaultError, match=f"{KEY_ENV} must be the base64 of 32 bytes"):
        Vault.open(tmp_path)
    assert not (tmp_path / KEY_FILE).exists()


def test_env_key_not_base64_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "not base64 !!")
    with pytest.raises(VaultError, match="not valid base64"):
        Vault.open(tmp_path)


def test_empty_env_falls_back_to_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "  ")
    Vault.open(tmp_path)
    assert (tmp_path / KEY_FILE).exists()


# --- ids ---------------------------------------------------------------------------------------


def test_new_id_shape_and_uniqueness() -> None:
    ids = {new_id("msg") for _ in range(1000)}
    assert len(ids) == 1000
    for value in ids:
        prefix, rest = value.split("_", 1)
        assert prefix == "msg" and len(rest) >= 22
        assert all(0x21 <= ord(c) <= 0x7E for c in value) and len(value) <= 128


@pytest.mark.parametrize("prefix", ["", "Msg", "m_x", "toolongprefix", "m sg"])
def test_new_id_refuses_bad_prefix(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        new_id(prefix)


def test_now_ms_is_milliseconds() -> None:
    assert 1_600_000_000_000 < now_ms() < 10_000_000_000_000
