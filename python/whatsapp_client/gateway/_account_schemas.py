"""Bodies of the operator account routes (``/api/v1/auth``, ``/api/v1/users``); the same
structs generate their OpenAPI components."""

from __future__ import annotations

from typing import Annotated, Optional

import msgspec
from msgspec import Meta

from whatsapp_client.gateway._account_records import Role, UserRecord
from whatsapp_client.gateway._api_schemas import Out

Email = Annotated[str, Meta(min_length=3, max_length=254)]
Secret = Annotated[str, Meta(min_length=1, max_length=1024)]


class LoginBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: Secret


class RefreshBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=128)]


class LogoutBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    refresh_token: Optional[Annotated[str, Meta(min_length=1, max_length=128)]] = None


class PasswordBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    current_password: Secret
    new_password: Secret


class UserCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    role: Role = "user"
    password: Optional[Secret] = None


class UserPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Optional[Role] = None
    disabled: Optional[bool] = None


class UserOut(Out, kw_only=True):
    id: str
    email: str
    role: Role
    must_change_password: bool
    disabled: bool
    created_at: int
    last_login_at: Optional[int] = None


class UserList(msgspec.Struct):
    users: list[UserOut]


class UserCreated(Out, kw_only=True):
    user: UserOut
    # Only when the gateway chose the password: shown this once, to be changed.
    temporary_password: Optional[str] = None


class TemporaryPassword(msgspec.Struct):
    temporary_password: str


class LoginAnswer(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    user: UserOut


def user_view(user: UserRecord) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        role=user.role,
        must_change_password=user.must_change_password,
        disabled=user.disabled,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )
