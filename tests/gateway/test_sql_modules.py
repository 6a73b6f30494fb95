"""Each backend's SQL modules against the protocols of ``_sql_modules``.

``SqlFacade`` calls the functions through those protocols. mypy checks the SQLite modules
against them; the PostgreSQL modules are coroutine functions that ``_pg`` casts to them
(Python cannot say "the same signatures, results awaited"), so mypy does not. This checks
both the same way: every function the facade calls exists, is a coroutine function on
PostgreSQL and a plain one on SQLite, and has the protocol's parameters (names, kinds,
defaults, annotations; the connection's annotation is the backend's own) and result.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import pytest

from whatsapp_client.gateway import _sql_modules
from whatsapp_client.gateway._pg import PostgresStorage
from whatsapp_client.gateway._sql_facade import SqlFacade
from whatsapp_client.gateway._sqlite import SqliteStorage

BACKENDS = {"sqlite": SqliteStorage, "postgres": PostgresStorage}


def _roles() -> dict[str, type]:
    """The facade's SQL module attributes and their protocols (``_ses``: SessionsSql...)."""
    roles = {}
    for name, hint in typing.get_type_hints(SqlFacade).items():
        if typing.get_origin(hint) is typing.ClassVar:
            (protocol,) = typing.get_args(hint)
            roles[name] = protocol
    return roles


def _functions(protocol: type) -> list[str]:
    return sorted(n for n, v in vars(protocol).items() if inspect.isfunction(v) and n[0] != "_")


def _shape(fn: Callable[..., Any], *, method: bool) -> tuple[object, ...]:
    sig = inspect.signature(fn)
    conn, *rest = list(sig.parameters.values())[1 if method else 0 :]
    params = [(p.name, p.kind, p.default, p.annotation) for p in rest]
    return conn.name, params, sig.return_annotation


ROLES = _roles()


def test_the_facade_names_one_module_per_protocol() -> None:
    protocols = {
        v
        for v in vars(_sql_modules).values()
        if isinstance(v, type) and v.__module__ == _sql_modules.__name__
    }
    assert set(ROLES) == {"_ses", "_msg", "_ev", "_stats", "_users", "_leases"}
    assert set(ROLES.values()) == protocols


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_backend_sql_functions_have_the_protocol_signatures(backend: str, role: str) -> None:
    module = vars(BACKENDS[backend])[role]
    protocol = ROLES[role]
    names = _functions(protocol)
    assert names, f"{protocol.__name__} lists no function"
    for name in names:
        fn = getattr(module, name, None)
        assert fn is not None, f"{module.__name__} has no {name}"
        assert inspect.iscoroutinefunction(fn) is (backend == "postgres"), f"{name} of {backend}"
        expected = _shape(getattr(protocol, name), method=True)
        assert _shape(fn, method=False) == expected, f"{module.__name__}.{name}"
