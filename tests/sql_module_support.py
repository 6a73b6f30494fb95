"""Checks shared by the gateway's and the server's SQL module tests.

A facade names its backend's SQL modules in ``ClassVar`` attributes typed by protocols;
SQLite's modules hold plain functions, PostgreSQL's coroutine functions with the same
parameters and results (which mypy cannot check, hence these).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from types import ModuleType
from typing import Any


def facade_roles(facade: type) -> dict[str, type]:
    """The facade's SQL module attributes and their protocols (``_msg``: MessagesSql...)."""
    roles = {}
    for name, hint in typing.get_type_hints(facade).items():
        if typing.get_origin(hint) is typing.ClassVar:
            (protocol,) = typing.get_args(hint)
            roles[name] = protocol
    return roles


def protocols_in(module: ModuleType) -> set[type]:
    """The classes defined in ``module`` (the protocols of a ``sql_modules`` module)."""
    return {
        v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__
    }


def protocol_functions(protocol: type) -> list[str]:
    return sorted(n for n, v in vars(protocol).items() if inspect.isfunction(v) and n[0] != "_")


def _shape(fn: Callable[..., Any], *, method: bool) -> tuple[object, ...]:
    sig = inspect.signature(fn)
    conn, *rest = list(sig.parameters.values())[1 if method else 0 :]
    params = [(p.name, p.kind, p.default, p.annotation) for p in rest]
    return conn.name, params, sig.return_annotation


def mismatches(module: ModuleType, protocol: type, *, coroutines: bool) -> list[str]:
    """How ``module`` differs from ``protocol``: a missing function, a plain function where
    a coroutine function is due (or the reverse), or other parameters (name, kind, default,
    annotation; the connection's annotation is the backend's own) or result."""
    found = []
    for name in protocol_functions(protocol):
        fn = getattr(module, name, None)
        if fn is None:
            found.append(f"{module.__name__} has no {name}")
        elif inspect.iscoroutinefunction(fn) is not coroutines:
            found.append(f"{module.__name__}.{name}: coroutine function is not {coroutines}")
        elif _shape(fn, method=False) != _shape(getattr(protocol, name), method=True):
            found.append(f"{module.__name__}.{name}: {inspect.signature(fn)}")
    return found
