"""Media types come from the bytes: every type of issue 11, office documents by their
``[Content_Types].xml``, and ``application/octet-stream`` for anything else."""

from __future__ import annotations

import io
import zipfile

import pytest

from whatsapp_client.client.mime import detect_mime, detect_mime_of_bytes, media_kind


def zip_with(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def office(main: str) -> bytes:
    types = (
        '<?xml version="1.0"?><Types><Override PartName="/x.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.{main}+xml"/></Types>'
    ).encode()
    return zip_with({"[Content_Types].xml": types, "x.xml": b"<x/>"})


@pytest.mark.parametrize(
    ("data", "mime", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg", "image"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", "image"),
        (b"GIF87a" + bytes(8), "image/gif", "image"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp", "image"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video/mp4", "video"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video/quicktime", "video"),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00", "audio/mp4", "audio"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm", "video"),
        (b"OggS\x00\x02" + bytes(22) + b"OpusHead\x01", "audio/ogg", "audio"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg", "audio"),
        (b"\xff\xfb\x90\x64" + bytes(8), "audio/mpeg", "audio"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav", "audio"),
        (b"%PDF-1.7\n", "application/pdf", "file"),
        (zip_with({"a.txt": b"hello"}), "application/zip", "file"),
        (b"hello, plain text", "application/octet-stream", "file"),
        (b"", "application/octet-stream", "file"),
        (b"\xff\xd9 not a jpeg", "application/octet-stream", "file"),
    ],
)
def test_types_from_the_bytes(data: bytes, mime: str, kind: str) -> None:
    assert detect_mime_of_bytes(data) == mime
    assert media_kind(mime) == kind


@pytest.mark.parametrize(
    ("main", "suffix"),
    [
        ("wordprocessingml.document.main", "wordprocessingml.document"),
        ("spreadsheetml.sheet.main", "spreadsheetml.sheet"),
        ("presentationml.presentation.main", "presentationml.presentation"),
    ],
)
def test_office_documents_by_their_content_types(main: str, suffix: str) -> None:
    data = office(main)
    expected = f"application/vnd.openxmlformats-officedocument.{suffix}"
    assert detect_mime_of_bytes(data) == expected
    fh = io.BytesIO(data)
    fh.seek(5)
    assert detect_mime(data[:4096], fh) == expected and fh.tell() == 5  # position kept
    # Without the archive (a stream that cannot seek) it is just a ZIP.
    assert detect_mime(data[:4096]) == "application/zip"


def test_a_broken_zip_is_a_zip() -> None:
    assert detect_mime_of_bytes(b"PK\x03\x04" + bytes(100)) == "application/zip"
