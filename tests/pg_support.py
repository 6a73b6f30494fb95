"""A throwaway PostgreSQL server for tests: ``initdb`` into a temporary directory, started
on a free loopback port (its Unix socket in that directory too), stopped at the end.

Missing binaries fail loudly (never skip): the backend must be tested. As root, the
binaries run as the ``postgres`` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

SUPERUSER = "wac"


class PostgresMissingError(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


# Debian's packages put the server binaries here, off PATH.
SYSTEM_DIR = "/usr/lib/postgresql"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is not None:
        return path
    versions = sorted(os.listdir(SYSTEM_DIR), reverse=True) if os.path.isdir(SYSTEM_DIR) else []
    for version in versions:
        found = os.path.join(SYSTEM_DIR, version, "bin", name)
        if os.access(found, os.X_OK):
            return found
    raise PostgresMissingError(
        f"PostgreSQL's `{name}` is not on PATH: install the `postgresql` package"
        " (apt-get install postgresql) to run the PostgreSQL backend tests"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """One running server; ``dsn(database)`` for a connection string."""

    def __init__(self, directory: str, port: int, run_as: list[str]) -> None:
        self.directory = directory
        self.port = port
        self._run_as = run_as
        self._ctl: tuple[str, str, str] = ("", "", "")

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database_name(self) -> str:
        return "t_" + uuid.uuid4().hex[:16]

    def run(self, *argv: str) -> None:
        subprocess.run([*self._run_as, *argv], check=True, capture_output=True, timeout=120)

    def control(self, pg_ctl: str, data: str, options: str) -> None:
        """Remember how to start and stop this server (see :meth:`start`, :meth:`stop`)."""
        self._ctl = (pg_ctl, data, options)

    def start(self) -> None:
        pg_ctl, data, options = self._ctl
        log = os.path.join(self.directory, "log")
        self.run(pg_ctl, "-D", data, "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        """An immediate stop: like a crash, recovered from the WAL on the next start."""
        pg_ctl, data, _ = self._ctl
        self.run(pg_ctl, "-D", data, "-m", "immediate", "-w", "stop")


def _run_as_prefix() -> tuple[list[str], int | None, int | None]:
    if os.geteuid() != 0:
        return [], None, None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresMissingError(
            "running as root needs a `postgres` system user (the `postgresql` package"
            " creates it) to run the server as"
        ) from None
    runuser = shutil.which("runuser") or "runuser"
    return [runuser, "-u", "postgres", "--"], entry.pw_uid, entry.pw_gid


@contextlib.contextmanager
def postgres_cluster(durable: bool = False) -> Iterator[PostgresCluster]:
    """A running throwaway server; ``durable`` keeps fsync on (benchmarks), tests turn it off."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    prefix, uid, gid = _run_as_prefix()
    directory = tempfile.mkdtemp(prefix="wac-pg-")
    if uid is not None and gid is not None:
        os.chown(directory, uid, gid)
    data = os.path.join(directory, "data")
    port = _free_port()
    cluster = PostgresCluster(directory, port, prefix)
    try:
        cluster.run(initdb, "-D", data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
        # fsync off: a throwaway test server only; production keeps the defaults.
        speed = "" if durable else "-F -c fsync=off "
        options = f"{speed}-p {port} -k {directory} -c listen_addresses=127.0.0.1"
        cluster.control(pg_ctl, data, options)
        cluster.start()
        try:
            yield cluster
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                cluster.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def create_database(cluster: PostgresCluster) -> str:
    """A fresh empty database; its DSN."""
    import asyncpg

    name = cluster.new_database_name()
    conn = await asyncpg.connect(cluster.dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return cluster.dsn(name)
