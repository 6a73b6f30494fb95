"""The operator account part of the OpenAPI document: ``/api/v1/auth/*`` and
``/api/v1/users``, their models, examples, and the Bearer and cookie security schemes."""

from __future__ import annotations

from typing import Any

from whatsapp_client.gateway import _account_schemas as a
from whatsapp_client.gateway import _openapi_examples as ex
from whatsapp_client.gateway._openapi_ops import op as _op
from whatsapp_client.gateway._openapi_ops import path_param

JSON = dict[str, Any]
API = "/api/v1"

MODELS: tuple[type[Any], ...] = (
    a.LoginBody,
    a.LoginAnswer,
    a.RefreshBody,
    a.LogoutBody,
    a.PasswordBody,
    a.UserCreate,
    a.UserPatch,
    a.UserOut,
    a.UserList,
    a.UserCreated,
    a.TemporaryPassword,
)
SECURITY_SCHEMES: JSON = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    # A browser session; unsafe methods also need the X-CSRF-Token header = wag_csrf.
    "cookie": {"type": "apiKey", "in": "cookie", "name": "wag_session"},
}
# Any of these authenticates a request.
SECURITY: list[JSON] = [{"apiKey": []}, {"bearer": []}, {"cookie": []}]

USER_ID = "usr_Qx8mT2vL5nR9wK3bZ7cJ1d"
USER: JSON = {
    "id": USER_ID,
    "email": "ops@example.com",
    "role": "user",
    "must_change_password": False,
    "disabled": False,
    "created_at": ex.NOW - 86_400_000,
    "last_login_at": ex.NOW,
}
_LOGIN_ANSWER: JSON = {
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfUXg4In0.c2lnbmF0dXJl",
    "refresh_token": "wrt_Vb3Nq8Lm2Xc7Rt5Kw9Zp1Jh4Gd6Sf0Ay",
    "token_type": "Bearer",
    "expires_in": 900,
    "user": USER,
}
_TEMPORARY = "Tq4vN8mX2cL7rK9wB3zJ5hPd"
_UID = path_param("user_id", "user id", USER_ID)


def _public(op_id: str, summary: str, **kw: Any) -> JSON:
    operation = _op(op_id, summary, "auth", auth=False, **kw)
    codes = kw.get("errors", ())
    if 401 in codes:
        operation["responses"]["401"]["content"]["application/json"]["example"] = ex.error(
            "invalid_credentials", "wrong email or password"
        )
    return operation


def _admin(op_id: str, summary: str, **kw: Any) -> JSON:
    operation = _op(op_id, summary, "users", scope="admin", **kw)
    operation["description"] = "Admins only (an admin's login, or an admin's key with scope admin)."
    return operation


def account_paths() -> JSON:
    au = "auth"
    return {
        f"{API}/auth/login": {
            "post": _public(
                "login",
                "Log in: tokens for the API, and the wag_session and wag_csrf cookies",
                answer=("LoginAnswer", _LOGIN_ANSWER),
                body=("LoginBody", {"email": "ops@example.com", "password": "a long passphrase"}),
                errors=(401, 429),
            )
        },
        f"{API}/auth/refresh": {
            "post": _public(
                "refreshToken",
                "A new token pair; the refresh token given stops working",
                answer=("LoginAnswer", _LOGIN_ANSWER),
                body=("RefreshBody", {"refresh_token": _LOGIN_ANSWER["refresh_token"]}),
                errors=(401, 429),
            )
        },
        f"{API}/auth/logout": {
            "post": _op(
                "logout",
                "End the browser session (and revoke the refresh token given)",
                au,
                ok=204,
                body=("LogoutBody", {"refresh_token": _LOGIN_ANSWER["refresh_token"]}),
            )
        },
        f"{API}/auth/me": {
            "get": _op("me", "The logged-in user", au, answer=("UserOut", USER)),
        },
        f"{API}/auth/password": {
            "post": _op(
                "changePassword",
                "Change my password (at least 12 characters); ends my other logins",
                au,
                ok=204,
                body=(
                    "PasswordBody",
                    {"current_password": _TEMPORARY, "new_password": "a new long passphrase"},
                ),
            )
        },
        f"{API}/users": {
            "get": _admin("listUsers", "Every user", answer=("UserList", {"users": [USER]})),
            "post": _admin(
                "createUser",
                "Create a user (without password: a temporary one, shown once)",
                ok=201,
                answer=("UserCreated", {"user": USER, "temporary_password": _TEMPORARY}),
                body=("UserCreate", {"email": "ops@example.com", "role": "user"}),
                errors=(409,),
            ),
        },
        f"{API}/users/{{user_id}}": {
            "get": _admin(
                "getUser", "One user", answer=("UserOut", USER), errors=(404,), params=(_UID,)
            ),
            "patch": _admin(
                "updateUser",
                "Change the role, disable or enable (never the last enabled admin)",
                answer=("UserOut", USER),
                body=("UserPatch", {"disabled": True}),
                errors=(404, 409),
                params=(_UID,),
            ),
            "delete": _admin(
                "deleteUser",
                "Delete a user (its keys and logins; its sessions pass to the caller)",
                ok=204,
                errors=(404, 409),
                params=(_UID,),
            ),
        },
        f"{API}/users/{{user_id}}/reset-password": {
            "post": _admin(
                "resetPassword",
                "A temporary password, to be changed at the next login; ends its logins",
                answer=("TemporaryPassword", {"temporary_password": _TEMPORARY}),
                errors=(404,),
                params=(_UID,),
            )
        },
    }
