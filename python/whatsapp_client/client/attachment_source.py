"""Media to send, from a path, bytes or a binary file object: its size checked against the
limits before anything else, its type read from the bytes, image metadata through the
optional Pillow, and (above :data:`INLINE_MAX`) sealed into an attachment blob file (§8):
bytes and file objects here, a file named by its path later, while its blob is uploaded
(:mod:`attachment_seal`).

Everything here blocks (file I/O, sealing): run it off the event loop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import uuid
from pathlib import Path
from typing import IO, Any, Callable, Optional, Union, cast

from whatsapp_client import errors
from whatsapp_client.client import mime as mime_mod
from whatsapp_client.client.attachment_seal import SealJob

__all__ = [
    "INLINE_MAX",
    "MediaInput",
    "Prepared",
    "image_meta",
    "new_blob_path",
    "prepare",
    "private_dir",
]

INLINE_MAX = 64 * 1024
"""Media of at most this many bytes rides inline in the message (PROTOCOL.md §5)."""
THUMBNAIL_MAX = 16 * 1024
_PIECE = 1024 * 1024  # read and seal a file object a MiB at a time

MediaInput = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]


@dataclasses.dataclass
class Prepared:
    """Media ready to send: inline bytes, a sealed blob file and its keys, or a blob file
    to seal (``job``)."""

    mime: str
    size: int
    filename: Optional[str]
    inline: Optional[bytes] = None
    blob: Optional[Path] = None
    keys: Any = dataclasses.field(default=None, repr=False)
    job: Optional[SealJob] = dataclasses.field(default=None, repr=False)
    """Set instead of ``keys`` when the blob is still to be sealed (while it is uploaded)."""
    meta: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)


def private_dir(path: Path) -> Path:
    """Creates ``path`` (mode 0700) if needed and returns it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def new_blob_path(cache_dir: Path) -> Path:
    """A fresh blob file name in the (private) cache directory."""
    return private_dir(cache_dir) / f"{uuid.uuid4().hex}.blob"


def _too_large(size: int, limit: int, what: str, setting: str) -> errors.MediaError:
    return errors.MediaError(
        f"the {what} is {size} bytes; the limit is {limit} bytes "
        f"({limit / (1024 * 1024):.1f} MiB, the client's {setting}): send a smaller one",
        code="too_large",
    )


class _Limits:
    def __init__(self, inline: int, attachment: int, what: str) -> None:
        self.inline, self.attachment, self.what = inline, attachment, what

    def check(self, size: int) -> None:
        if size == 0:
            raise errors.MediaError(f"the {self.what} is empty", code="empty_media")
        if size <= INLINE_MAX and size > self.inline:
            raise _too_large(size, self.inline, self.what, "media_max_bytes")
        if size > self.attachment:
            raise _too_large(size, self.attachment, self.what, "attachment_max_bytes")


def prepare(
    value: MediaInput,
    *,
    inline_limit: int,
    attachment_limit: int,
    cache_dir: Path,
    what: str,
    check_mime: Callable[[str], str],
    filename: Optional[str] = None,
) -> Prepared:
    """Reads, checks, types and (when large) seals ``value``.

    ``check_mime`` receives the detected type and returns the one to send (or raises);
    it runs before anything is sealed. Nothing is left on disk when this raises."""
    limits = _Limits(inline_limit, attachment_limit, what)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(value), limits, cache_dir, check_mime, filename)
    if isinstance(value, (str, os.PathLike)):
        return _from_path(Path(os.fspath(value)).expanduser(), limits, cache_dir, check_mime)
    if callable(getattr(value, "read", None)):
        return _from_file(value, limits, cache_dir, check_mime, filename)
    raise errors.ValidationError(
        f"the {what} must be a path, bytes or a binary file object, got {type(value)!r}"
    )


def _from_bytes(
    data: bytes,
    limits: _Limits,
    cache_dir: Path,
    check_mime: Callable[[str], str],
    filename: Optional[str],
) -> Prepared:
    limits.check(len(data))
    kind = check_mime(mime_mod.detect_mime_of_bytes(data))
    if len(data) <= INLINE_MAX:
        return Prepared(kind, len(data), filename, inline=data)
    meta = image_meta(io.BytesIO(data), kind)
    blob = new_blob_path(cache_dir)
    keys = _seal_stream(io.BytesIO(data), blob, limits)
    return Prepared(kind, len(data), filename, blob=blob, keys=keys, meta=meta)


def _from_path(
    path: Path, limits: _Limits, cache_dir: Path, check_mime: Callable[[str], str]
) -> Prepared:
    try:
        if not path.is_file():
            raise errors.ValidationError(f"{str(path)!r} is not a regular file")
        size = path.stat().st_size
        limits.check(size)
        with path.open("rb") as fh:
            if size <= INLINE_MAX:
                data = fh.read(INLINE_MAX + 1)
                limits.check(len(data))
                kind = check_mime(mime_mod.detect_mime_of_bytes(data))
                return Prepared(kind, len(data), path.name, inline=data)
            kind = check_mime(mime_mod.detect_mime(fh.read(mime_mod.HEAD_BYTES), _rewound(fh)))
            meta = image_meta(fh, kind)
    except OSError as exc:
        raise errors.ValidationError(f"cannot read {str(path)!r}: {exc.strerror}") from exc
    # Sealed later, while the blob is uploaded (attachment_seal.SealJob): ``size`` bytes of
    # the file as it is now.
    job = SealJob(path, size, new_blob_path(cache_dir))
    return Prepared(kind, size, path.name, blob=job.blob, job=job, meta=meta)


def _rewound(fh: IO[bytes]) -> IO[bytes]:
    fh.seek(0)
    return fh


def _seekable(fh: IO[bytes]) -> bool:
    try:
        return bool(fh.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _from_file(
    fh: IO[bytes],
    limits: _Limits,
    cache_dir: Path,
    check_mime: Callable[[str], str],
    filename: Optional[str],
) -> Prepared:
    if filename is None:
        name = getattr(fh, "name", None)
        filename = Path(name).name if isinstance(name, str) and name else None
    try:
        if _seekable(fh):
            start = fh.tell()
            size = fh.seek(0, os.SEEK_END) - start
            fh.seek(start)
            limits.check(size)
            if size <= INLINE_MAX:
                return _from_bytes(fh.read(size), limits, cache_dir, check_mime, filename)
            head = fh.read(mime_mod.HEAD_BYTES)
            fh.seek(start)
            archive = cast(IO[bytes], _Window(fh, start)) if start else fh
            kind = check_mime(mime_mod.detect_mime(head, archive))
            meta = image_meta(archive, kind)
            fh.seek(start)
            source: IO[bytes] = fh
        else:
            first = _read_exactly(fh, INLINE_MAX + 1)
            limits.check(len(first))
            if len(first) <= INLINE_MAX:
                return _from_bytes(first, limits, cache_dir, check_mime, filename)
            kind = check_mime(mime_mod.detect_mime(first[: mime_mod.HEAD_BYTES]))
            meta = {}
            source = cast(IO[bytes], _Chain(first, fh))
        blob = new_blob_path(cache_dir)
        keys = _seal_stream(source, blob, limits)
    except OSError as exc:
        raise errors.ValidationError(f"cannot read the {limits.what}: {exc}") from exc
    return Prepared(kind, keys.size, filename, blob=blob, keys=keys, meta=meta)


def _read_exactly(fh: IO[bytes], n: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < n:
        part = fh.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


class _Chain(io.RawIOBase):
    """Bytes already read, then the rest of a file object."""

    def __init__(self, first: bytes, rest: IO[bytes]) -> None:
        self._first, self._rest = first, rest

    def read(self, n: int = -1) -> bytes:
        if self._first:
            out, self._first = self._first[:n], self._first[n:]
            return out
        data = self._rest.read(n)
        if not isinstance(data, (bytes, bytearray)):
            raise errors.ValidationError("the file object must be opened in binary mode")
        return bytes(data)


class _Window(io.RawIOBase):
    """A seekable file seen from ``start`` on (so an archive inside can be read)."""

    def __init__(self, fh: IO[bytes], start: int) -> None:
        self._fh, self._start = fh, start

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._fh.tell() - self._start

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            offset += self._start
        return self._fh.seek(offset, whence) - self._start

    def read(self, n: int = -1) -> bytes:
        return self._fh.read(n)


def _seal_stream(source: Any, blob: Path, limits: _Limits) -> Any:
    """Seals a stream into ``blob`` (0600) a MiB at a time; the limit is enforced while
    reading, so a stream of unknown length never exceeds it."""
    from whatsapp_client import _core

    sealer = _core.AttachmentSealer()
    total = 0
    try:
        fd = os.open(blob, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while True:
                piece = source.read(_PIECE)
                if not isinstance(piece, (bytes, bytearray)):
                    raise errors.ValidationError(
                        "the file object must be opened in binary mode ('rb')"
                    )
                if not piece:
                    break
                total += len(piece)
                if total > limits.attachment:
                    limits.check(total)
                out.write(sealer.push(piece))
            limits.check(total)
            tail, keys = sealer.finish()
            out.write(tail)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        _remove(blob)
        raise
    return keys


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# --- Pillow (optional): dimensions and a small JPEG thumbnail --------------------------------


def image_meta(fh: IO[bytes], mime: str) -> dict[str, Any]:
    """``width``, ``height`` and a ``thumbnail`` (JPEG, at most 16 KiB) of an image, when
    Pillow is installed; ``{}`` otherwise or when the image cannot be decoded. The file
    position is restored."""
    if not mime.startswith("image/"):
        return {}
    try:
        from PIL import Image
    except ImportError:
        return {}
    start = fh.tell()
    try:
        with Image.open(fh) as img:
            meta: dict[str, Any] = {"width": int(img.width), "height": int(img.height)}
            thumb = _thumbnail(img)
            if thumb is not None:
                meta["thumbnail"] = thumb
            return meta
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return {}
    finally:
        fh.seek(start)


def _thumbnail(img: Any) -> Optional[bytes]:
    # Reduced in place (a JPEG is even decoded at a reduced scale): a large photo is never
    # copied at full size. An animated image gives its first frame.
    img.draft("RGB", (640, 640))
    img.thumbnail((320, 320))
    base = img if img.mode in ("RGB", "L") else img.convert("RGB")
    for side, quality in ((320, 70), (160, 55), (96, 40)):
        small = base.copy()
        small.thumbnail((side, side))
        out = io.BytesIO()
        small.save(out, format="JPEG", quality=quality)
        if out.tell() <= THUMBNAIL_MAX:
            return out.getvalue()
    return None
