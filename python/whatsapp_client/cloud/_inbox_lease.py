"""Who owns a pending inbox event: one lock file per live store, so several receiver
processes can share one SQLite file and each replays only what a DEAD one left.

Each :class:`~._dedup.SqliteDedupStore` that keeps events holds an exclusive ``flock`` on
``<folder>/<token>.lock`` for as long as it is open; the kernel drops the lock when the
process dies (SIGKILL included). A token whose file can be locked by someone else, or
whose file is gone, belongs to a dead (or cleanly closed) store: its events can be taken
over. On a platform without ``flock`` (Windows) every other owner counts as dead: one
receiver process per file there.

All of it is blocking: called on the store's worker thread.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Optional

if sys.platform != "win32":
    import fcntl

__all__ = ["Lease", "dead_owner"]


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Lease:
    """This store's token and the lock that says it is alive."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.token = uuid.uuid4().hex
        self._fd: Optional[int] = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def hold(self) -> None:
        if self._fd is not None:
            return
        self.folder.mkdir(mode=0o700, exist_ok=True)
        # Locked under a temporary name, then renamed: a scanner never sees our final
        # name unlocked (it would take us for dead).
        tmp = self.folder / f"{self.token}.tmp"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            raise RuntimeError(f"inbox lease {tmp} is locked by another store")
        os.replace(tmp, self.folder / f"{self.token}.lock")
        self._fd = fd

    def release(self, *, remove: bool) -> None:
        """Drop the lock; ``remove`` deletes the file (nothing of ours is pending)."""
        if self._fd is None:
            return
        if remove:
            with contextlib.suppress(FileNotFoundError):
                (self.folder / f"{self.token}.lock").unlink()
        os.close(self._fd)
        self._fd = None


def lease_files(folder: Path) -> list[str]:
    """Tokens of every lease file in ``folder`` (stale ones included)."""
    if not folder.is_dir():
        return []
    return [p.stem for p in folder.iterdir() if p.suffix in (".lock", ".tmp")]


@contextlib.contextmanager
def dead_owner(folder: Path, token: str) -> Iterator[bool]:
    """True (while holding its lock, so two claimers take turns) if ``token``'s store is
    dead; its lease file is deleted on exit. False if it is alive."""
    fd: Optional[int] = None
    for suffix in (".lock", ".tmp"):
        with contextlib.suppress(FileNotFoundError):
            fd = os.open(folder / f"{token}{suffix}", os.O_RDWR)
            break
    if fd is None:  # no file: closed cleanly, or already taken over
        yield True
        return
    try:
        if not _try_lock(fd):
            yield False
            return
        yield True
        for suffix in (".lock", ".tmp"):
            with contextlib.suppress(FileNotFoundError):
                (folder / f"{token}{suffix}").unlink()
    finally:
        os.close(fd)


def others(tokens: Iterable[Optional[str]], mine: str) -> list[str]:
    """The distinct tokens other than ``mine``, in a stable order."""
    return sorted({t for t in tokens if t and t != mine})
