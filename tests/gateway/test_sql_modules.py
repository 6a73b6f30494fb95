"""Each backend's SQL modules against the protocols of ``_sql_modules``.

``SqlFacade`` calls the functions through those protocols. mypy checks the SQLite modules
against them; the PostgreSQL modules are coroutine functions that ``_pg`` casts to them
(Python cannot say "the same signatures, results awaited"), so mypy does not. This checks
both the same way: every function the facade calls exists, is a coroutine function on
PostgreSQL and a plain one on SQLite, and has the protocol's parameters (names, kinds,
defaults, annotations; the connection's annotation is the backend's own) and result.
"""

from __future__ import annotations

import pytest

from tests.sql_module_support import (
    facade_roles,
    mismatches,
    protocol_functions,
    protocols_in,
)
from whatsapp_client.gateway import _sql_modules
from whatsapp_client.gateway._pg import PostgresStorage
from whatsapp_client.gateway._sql_facade import SqlFacade
from whatsapp_client.gateway._sqlite import SqliteStorage

BACKENDS = {"sqlite": SqliteStorage, "postgres": PostgresStorage}
ROLES = facade_roles(SqlFacade)


def test_the_facade_names_one_module_per_protocol() -> None:
    assert set(ROLES) == {"_ses", "_msg", "_ev", "_stats", "_users", "_leases"}
    assert set(ROLES.values()) == protocols_in(_sql_modules)


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_backend_sql_functions_have_the_protocol_signatures(backend: str, role: str) -> None:
    module = vars(BACKENDS[backend])[role]
    assert protocol_functions(ROLES[role]), f"{ROLES[role].__name__} lists no function"
    assert mismatches(module, ROLES[role], coroutines=backend == "postgres") == []
