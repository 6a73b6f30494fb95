"""Records of operator accounts: users, refresh tokens and browser sessions.

Only hashes are stored: the Argon2id hash of a password, SHA-256 of a refresh token and
of a browser session id. None of them appears in a ``repr``.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, Optional

Role = Literal["admin", "user"]
ROLES: tuple[Role, ...] = ("admin", "user")


@dataclasses.dataclass(frozen=True)
class UserRecord:
    id: str
    email: str
    role: Role
    password_hash: str = dataclasses.field(repr=False)
    must_change_password: bool
    disabled: bool
    created_at: int
    last_login_at: Optional[int] = None
    # Access tokens issued before this (ms) are refused: a password change or reset ends
    # every earlier login.
    password_changed_at: int = 0


@dataclasses.dataclass(frozen=True)
class RefreshToken:
    token_hash: str = dataclasses.field(repr=False)
    family_id: str
    user_id: str
    created_at: int
    expires_at: int
    used_at: Optional[int] = None
    revoked: bool = False


@dataclasses.dataclass(frozen=True)
class BrowserSession:
    id_hash: str = dataclasses.field(repr=False)
    user_id: str
    csrf_hash: str = dataclasses.field(repr=False)
    created_at: int
    expires_at: int
