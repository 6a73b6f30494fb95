"""The gateway master key and sealing of data at rest (AES-256-GCM, in Rust).

The key comes from ``WHATSAPP_GATEWAY_MASTER_KEY`` (base64 of 32 bytes) when set, else from
``<data_dir>/master.key`` (32 random bytes, mode 0600, created on first start). It is read
and kept only by the Rust ``whatsapp_client._core.Vault`` (wiped when dropped, never in a
``repr``); Python only ever sees sealed blobs and the plaintexts it opens.

Every blob is sealed with associated data naming where it belongs (:func:`bind`), so a
blob copied to another row or field does not open there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Union, overload

from whatsapp_client._core import Vault as _CoreVault
from whatsapp_client.errors import VaultError

__all__ = ["KEY_ENV", "KEY_FILE", "Vault", "VaultError", "bind"]

KEY_ENV = "WHATSAPP_GATEWAY_MASTER_KEY"
KEY_FILE = "master.key"

BytesLike = Union[bytes, bytearray, memoryview]


def bind(*parts: Union[str, int]) -> bytes:
    """Associated data for a blob: the parts, each length-prefixed, so that no two different
    lists of parts give the same bytes (``("a", "bc")`` is not ``("ab", "c")``)."""
    out = bytearray()
    for part in parts:
        raw = str(part).encode("utf-8")
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


class _OpenMethod:
    """``Vault.open(data_dir)`` loads a vault; ``vault.open(blob, ad)`` opens a blob. One
    name for both is the shared contract, so the attribute answers by how it is reached."""

    @overload
    def __get__(self, obj: None, owner: type[Vault]) -> Callable[[Union[str, Path]], Vault]: ...
    @overload
    def __get__(self, obj: Vault, owner: type[Vault]) -> Callable[[bytes, bytes], bytes]: ...
    def __get__(
        self, obj: Vault | None, owner: type[Vault]
    ) -> Callable[[Union[str, Path]], Vault] | Callable[[bytes, bytes], bytes]:
        if obj is None:
            return owner.load
        return obj.open_blob


class Vault:
    """Seals and opens bytes under the gateway master key."""

    open = _OpenMethod()

    def __init__(self, core: _CoreVault) -> None:
        self._core = core

    @classmethod
    def load(cls, data_dir: Union[str, Path]) -> Vault:
        """The vault of a data directory (created 0700 if missing): the key from the
        environment, else ``master.key`` in it, created on first start. A malformed key,
        or a key file others can read, raises :class:`VaultError`."""
        path = Path(data_dir)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return cls(_CoreVault.from_env_or_file(KEY_ENV, os.fspath(path / KEY_FILE)))

    @classmethod
    def from_key(cls, key: bytes) -> Vault:
        """A vault with a given 32-byte key (tests, key rotation tools)."""
        return cls(_CoreVault(key))

    def seal(self, plaintext: BytesLike, ad: bytes) -> bytes:
        """``nonce || ciphertext || tag`` of ``plaintext``, bound to ``ad``."""
        return self._core.seal(plaintext, ad)

    def open_blob(self, blob: bytes, ad: bytes) -> bytes:
        """The plaintext of ``blob`` sealed with ``ad``; :class:`VaultError` if it was
        tampered with, truncated, or sealed for another ``ad`` or key."""
        return self._core.open(blob, ad)

    def seal_text(self, text: str, ad: bytes) -> bytes:
        return self.seal(text.encode("utf-8"), ad)

    def open_text(self, blob: bytes, ad: bytes) -> str:
        return self.open_blob(blob, ad).decode("utf-8")

    def __repr__(self) -> str:
        return "Vault(key=<redacted>)"
