"""Each storage backend's SQL modules against the protocols of ``storage.sql_modules``.

``SqlFacade`` calls the functions through those protocols. mypy checks the SQLite modules
against them; the PostgreSQL modules are coroutine functions that ``postgres.py`` casts to
them (Python cannot say "the same signatures, results awaited"), so mypy does not. This
checks both the same way: every function the facade calls exists, is a coroutine function
on PostgreSQL and a plain one on SQLite, and has the protocol's parameters (names, kinds,
defaults, annotations; the connection's annotation is the backend's own) and result. And
every other public function of a module is one its backend's class calls itself, so no
function drifts out of the protocols unnoticed.
"""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

from tests.sql_module_support import (
    facade_roles,
    mismatches,
    protocol_functions,
    protocols_in,
)
from whatsapp_client.server.storage import sql_modules
from whatsapp_client.server.storage.postgres import PostgresStorage
from whatsapp_client.server.storage.sql_facade import SqlFacade
from whatsapp_client.server.storage.sqlite import SqliteStorage

BACKENDS = {"sqlite": SqliteStorage, "postgres": PostgresStorage}

# What each backend does its own way (storing and acknowledging direct messages), so the
# protocols leave it out.
BACKEND_ONLY = {
    "sqlite": {"_msg": {"store_messages", "acknowledge", "content_bytes"}},
    "postgres": {"_msg": {"store_messages", "acknowledge_many"}},
}


def _module_functions(module: ModuleType) -> set[str]:
    """The public functions defined in ``module`` (not those it imports)."""
    return {
        n
        for n, v in vars(module).items()
        if inspect.isfunction(v) and v.__module__ == module.__name__ and n[0] != "_"
    }


ROLES = facade_roles(SqlFacade)


def test_the_facade_names_one_module_per_protocol() -> None:
    assert set(ROLES) == {"_acc", "_msg", "_grp", "_att"}
    assert set(ROLES.values()) == protocols_in(sql_modules)


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_backend_sql_functions_have_the_protocol_signatures(backend: str, role: str) -> None:
    module = vars(BACKENDS[backend])[role]
    assert isinstance(module, ModuleType), f"{backend}.{role} is not a module"
    assert protocol_functions(ROLES[role]), f"{ROLES[role].__name__} lists no function"
    assert mismatches(module, ROLES[role], coroutines=backend == "postgres") == []


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_backend_sql_modules_have_no_function_outside_the_protocols(
    backend: str, role: str
) -> None:
    module = vars(BACKENDS[backend])[role]
    extra = _module_functions(module) - set(protocol_functions(ROLES[role]))
    assert extra == BACKEND_ONLY[backend].get(role, set()), module.__name__


def test_no_backend_overrides_a_facade_method() -> None:
    # What a backend class defines beside the facade is its plumbing and what differs.
    for backend, cls in BACKENDS.items():
        own = {n for n in vars(cls) if n[0] != "_"} & {n for n in dir(SqlFacade) if n[0] != "_"}
        assert own == set(), f"{backend} redefines {sorted(own)}"
