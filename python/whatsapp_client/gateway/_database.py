"""Which storage a gateway runs on: SQLite in the data directory (the default), or
PostgreSQL when ``database`` is a ``postgresql://`` DSN (``--database``,
``WHATSAPP_GATEWAY_DATABASE``, or ``database`` in the config file).

Media files, the master key file and the sessions' own stores stay under the data directory
either way; only the records move to PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.gateway._vault import Vault

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be used: its driver is missing, it cannot be
    reached, or it holds a newer schema. The message says which (never the password)."""


def is_postgres_dsn(value: str) -> bool:
    return value.startswith(POSTGRES_SCHEMES)


def check_database(value: Optional[str]) -> Optional[str]:
    """The reason ``value`` is not a usable ``database`` setting, or None."""
    if value is None:
        return None
    if not is_postgres_dsn(value):
        return "database must be a postgresql:// DSN (leave it unset for SQLite in data_dir)"
    return None


def make_storage(settings: GatewaySettings, data_dir: Path, vault: Vault) -> Storage:
    """The storage ``settings`` ask for, not opened yet (``open()`` connects)."""
    if settings.database:
        from whatsapp_client.gateway._pg import PostgresStorage

        return PostgresStorage(
            settings.database, vault, max_connections=settings.database_max_connections
        )
    from whatsapp_client.gateway._sqlite import SqliteStorage

    return SqliteStorage(data_dir, vault)
