"""Reading a ``multipart/form-data`` send: the text fields into memory (bounded), the file
part streamed to a private temporary file with the size limit enforced while reading, so
that an oversized upload is refused (413) without ever being held or kept whole."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Optional

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from whatsapp_client.gateway._errors import FileTooLarge, InvalidRequest

TEXT_FIELDS = frozenset({"to", "group_id", "caption", "filename", "mime"})
MAX_FIELD_BYTES = 64 * 1024
_CHUNK = 64 * 1024


class Upload:
    """The decoded form: its text fields and the temporary file holding the file part
    (``path`` None when there was none). The caller removes ``path`` when the service
    did not take it over."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.path: Optional[Path] = None
        self.part_filename: Optional[str] = None
        self.part_mime: Optional[str] = None

    def discard(self) -> None:
        if self.path is not None:
            _remove(self.path)
            self.path = None


async def read_upload(request: web.Request, temp_dir: Path, max_file_bytes: int) -> Upload:
    upload = Upload()
    try:
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                raise InvalidRequest("nested multipart bodies are not accepted")
            name = part.name or ""
            if name == "file":
                if upload.path is not None:
                    raise InvalidRequest("only one file part is accepted")
                upload.part_filename = part.filename
                upload.part_mime = part.headers.get("Content-Type")
                upload.path = await _spool(part, temp_dir, max_file_bytes)
            elif name in TEXT_FIELDS:
                if name in upload.fields:
                    raise InvalidRequest(f"field {name!r} is given twice")
                upload.fields[name] = await _text(part, name)
            else:
                raise InvalidRequest(f"unknown form field {name!r}")
    except (ValueError, HttpProcessingError) as exc:  # aiohttp: no boundary, bad part headers
        upload.discard()
        raise InvalidRequest(f"invalid multipart body: {_describe(exc)}") from None
    except BaseException:
        upload.discard()
        raise
    return upload


def _describe(exc: Exception) -> str:
    # aiohttp's messages can quote the raw bytes; keep the answer short and printable.
    text = exc.message if isinstance(exc, HttpProcessingError) else str(exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__


async def _text(part: BodyPartReader, name: str) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(_CHUNK):
        data += chunk
        if len(data) > MAX_FIELD_BYTES:
            raise InvalidRequest(f"field {name!r} is longer than {MAX_FIELD_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(f"field {name!r} is not UTF-8") from None


def _temp_file(temp_dir: Path) -> tuple[int, Path]:
    temp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", dir=temp_dir)  # mode 0600
    return fd, Path(name)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def _spool(part: BodyPartReader, temp_dir: Path, limit: int) -> Path:
    fd, path = _temp_file(temp_dir)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await part.read_chunk(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(f"the file is larger than the limit of {limit} bytes")
                out.write(chunk)
    except BaseException:
        _remove(path)
        raise
    return path
