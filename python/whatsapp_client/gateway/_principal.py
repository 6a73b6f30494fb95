"""Who is asking: the user behind a request, and the reach of the credential it used.

The auth middleware sets it on the request (``REQUEST_KEY``); routes read it with
:func:`principal_of`. A logged-in user (cookie or Bearer token) has scope ``"admin"`` when
an admin and ``"write"`` otherwise; an API key carries its own scope and may be
restricted to some sessions, but never reaches further than its user.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, Optional

from aiohttp import web

from whatsapp_client.gateway._errors import Forbidden
from whatsapp_client.gateway._models import Scope

Role = Literal["admin", "user"]
Via = Literal["api_key", "bearer", "cookie"]
_RANK: dict[Scope, int] = {"read": 0, "write": 1, "admin": 2}


@dataclasses.dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    role: Role
    scope: Scope
    session_ids: Optional[frozenset[str]] = None
    via: Via = "api_key"
    # The API key's id (None for a logged-in user); for audit logs only.
    key_id: Optional[str] = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def sees(self, owner_id: Optional[str], session_id: str) -> bool:
        """Admins see every session, users their own; a key restricted to some sessions
        sees only those."""
        if self.session_ids is not None and session_id not in self.session_ids:
            return False
        return self.role == "admin" or owner_id == self.user_id

    def has_scope(self, scope: Scope) -> bool:
        return _RANK[self.scope] >= _RANK[scope]

    def require_scope(self, scope: Scope) -> None:
        if not self.has_scope(scope):
            raise Forbidden(f"this credential has scope {self.scope!r}; {scope!r} is required")

    def require_admin(self) -> None:
        """Admin role, admin scope, no restriction to sessions (an admin's read-only or
        restricted key cannot manage users)."""
        if self.role != "admin":
            raise Forbidden("this needs an admin account")
        self.require_scope("admin")
        if self.session_ids is not None:
            raise Forbidden(
                "this API key is restricted to some sessions; this needs one that is not"
            )


# The middleware's slot on the request (a typed key; read it with principal_of).
REQUEST_KEY = web.RequestKey("principal", Principal)


def principal_of(request: web.Request) -> Principal:
    found = request.get(REQUEST_KEY)
    if not isinstance(found, Principal):
        raise RuntimeError("no principal on this request (route not behind the auth middleware)")
    return found
