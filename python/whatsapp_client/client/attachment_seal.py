"""Sealing a file into its blob while the blob is uploaded (PROTOCOL.md §8).

A :class:`SealJob` seals a file of known size a MiB at a time with the core's
``AttachmentSealer`` (which releases the GIL) in a worker thread, appending each sealed
piece to the blob file; an uploader follows the blob as it grows with :meth:`SealJob.read`
(what is there, then waits for more until the sealer is done). The blob's final size is
known up front (``attachment_blob_size``), so the upload can declare it before sealing ends.

The blob is fsynced before :meth:`SealJob.run` returns the keys: whoever records the
pending upload afterwards names a complete, durable blob. A failed or stopped job removes
its blob; a blob left half written by a crash has no pending record and is swept as an
orphan (``MediaSender._sweep_orphans``).

Everything here blocks: run it off the event loop.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any, Optional

from whatsapp_client import errors
from whatsapp_client._writeback import start_writeback

__all__ = ["SealJob", "SealStopped", "sweep_orphans"]

_PIECE = 1024 * 1024  # plaintext read and sealed per step


class SealStopped(Exception):
    """The job was stopped (its send was cancelled or failed) before it finished."""


class SealJob:
    """Seals ``size`` bytes of ``source`` into the new file ``blob`` (mode 0600)."""

    def __init__(self, source: Path, size: int, blob: Path) -> None:
        from whatsapp_client import _core

        self.source = source
        self.size = size
        self.blob = blob
        self.blob_size = int(_core.attachment_blob_size(size))
        self._written = 0  # blob bytes on disk so far (visible to readers)
        self._done = False
        self._error: Optional[BaseException] = None
        self._stop = False
        self._started = False
        self._cond = threading.Condition()
        self._fd: Optional[int] = None

    def create(self) -> None:
        """Creates the (empty) blob file, before the upload opens it; refused once stopped."""
        with self._cond:
            if self._stop:
                raise SealStopped("the sealing was stopped")
            try:
                self._fd = os.open(self.blob, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as exc:
                raise errors.ValidationError(
                    f"cannot create the blob file {str(self.blob)!r}: {exc.strerror}"
                ) from exc

    # --- the sealer (one worker thread) ------------------------------------------------------

    def run(self) -> Any:
        """Seals the whole file; returns the ``AttachmentKeys`` once the blob is complete and
        fsynced. On any failure (or :meth:`stop`) the blob is removed and the error raised."""
        from whatsapp_client import _core

        with self._cond:
            self._started = True
            fd = self._fd
        try:
            if fd is None or self._stop:
                raise SealStopped("the sealing was stopped")
            sealer = _core.AttachmentSealer()
            with self.source.open("rb", buffering=0) as src:
                left = self.size
                while left:
                    if self._stop:
                        raise SealStopped("the sealing was stopped")
                    piece = src.read(min(_PIECE, left))
                    if not piece:
                        raise errors.ValidationError(
                            f"{str(self.source)!r} became shorter while it was sent"
                        )
                    left -= len(piece)
                    self._append(fd, sealer.push(piece))
                tail, keys = sealer.finish()
                self._append(fd, tail)
            os.fsync(fd)
            if self._written != self.blob_size:  # the core's formula and its output disagree
                raise errors.MediaError("the sealed blob has an unexpected size")
        except OSError as exc:
            self._fail(exc)
            raise errors.ValidationError(
                f"cannot seal {str(self.source)!r}: {exc.strerror or exc}"
            ) from exc
        except BaseException as exc:
            self._fail(exc)
            raise
        self._close()
        with self._cond:
            self._done = True
            self._cond.notify_all()
        return keys

    def _append(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        # The blob is fsynced before its pending record is written; writing it back as it
        # grows takes that fsync off the send's critical path.
        start_writeback(fd, self._written, len(data))
        with self._cond:
            self._written += len(data)
            self._cond.notify_all()

    def _fail(self, exc: BaseException) -> None:
        with self._cond:
            self._close()
            if self._error is None:
                self._error = exc
            self._cond.notify_all()
        _remove(self.blob)

    def _close(self) -> None:
        with self._cond:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    # --- control and readers (any thread) -----------------------------------------------------

    def stop(self) -> None:
        """Asks the sealer to stop at its next piece (it then removes the blob)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def discard(self) -> None:
        """Removes the blob: at once if the job has not started or has ended, else the
        sealer removes it at its next piece (never under its feet)."""
        with self._cond:
            self._stop = True
            running = self._started and not self._done and self._error is None
            self._cond.notify_all()
        if not running:
            self._fail(SealStopped("the sealing was stopped"))

    def read(self, fh: Any, pos: int, limit: int = _PIECE) -> bytes:
        """Up to ``limit`` blob bytes at ``pos`` from ``fh`` (the blob opened unbuffered),
        waiting until the sealer has written them; ``b""`` at the end of the blob. Raises
        :class:`SealStopped` if the sealing failed or was stopped."""
        with self._cond:
            while self._written <= pos and not self._done:
                if self._error is not None or self._stop:
                    raise SealStopped("the sealing of the blob failed or was stopped")
                self._cond.wait()
            available = self._written
        if pos >= available:
            return b""
        return bytes(os.pread(fh.fileno(), min(limit, available - pos), pos))


def sweep_orphans(folder: Path, named: set[str], age: float) -> None:
    """Deletes the ``*.blob`` files in ``folder`` that no pending record names and that are
    older than ``age`` seconds (a blob being sealed right now has no record yet)."""
    horizon = time.time() - age
    for blob in folder.glob("*.blob") if folder.is_dir() else ():
        try:
            if str(blob) not in named and blob.stat().st_mtime < horizon:
                blob.unlink()
        except OSError:
            pass


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
