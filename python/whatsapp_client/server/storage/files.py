"""The data directory and the files in it: private to the server's user (0700 / 0600).

They hold password and token hashes, ciphertexts and group text, so an existing directory
or database file that other users can read or write is refused at start, with the
``chmod`` that fixes it, rather than silently used.
"""

from __future__ import annotations

import os
import stat

DIR_MODE = 0o700
FILE_MODE = 0o600
_CHECKS = os.name == "posix"


class InsecurePermissionsError(RuntimeError):
    """A data directory or file other users can read or write."""


def check_private(path: str, is_dir: bool) -> None:
    """Refuses ``path`` if it exists with any group or other permission bit set."""
    if not _CHECKS:
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        want, fix = ("0700", "700") if is_dir else ("0600", "600")
        raise InsecurePermissionsError(
            f"refusing to use {path}: its mode is {mode:04o}, so other users can read it"
            f" (it must be {want}). Fix it with: chmod {fix} '{path}'"
        )


def private_dir(path: str) -> None:
    """Create ``path`` (0700) if missing, else check that it is private."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        if not os.path.isdir(path):
            raise NotADirectoryError(f"{path} exists and is not a directory") from None
        check_private(path, is_dir=True)


def private_file(path: str) -> None:
    """Create ``path`` empty (0600) if missing, else check that it is private.

    SQLite gives its -wal and -shm files the mode of the database file, so creating the
    database this way first keeps them private too.
    """
    check_private(path, is_dir=False)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(fd)


def check_database(db_path: str) -> None:
    """Create or check the database file and check any WAL or shared-memory file beside it."""
    for suffix in ("-wal", "-shm", "-journal"):
        check_private(db_path + suffix, is_dir=False)
    private_file(db_path)
