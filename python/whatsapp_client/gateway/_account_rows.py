"""Rows of the operator-account tables to records (shared by the SQLite and PostgreSQL
storages, which select these columns in this order)."""

from __future__ import annotations

from typing import Any

from whatsapp_client.gateway._account_records import RefreshToken, UserRecord

USER_COLUMNS = (
    "id, email, role, password_hash, must_change_password, disabled, created_at, "
    "last_login_at, password_changed_at"
)
REFRESH_COLUMNS = "token_hash, family_id, user_id, created_at, expires_at, used_at, revoked"
BROWSER_COLUMNS = "id_hash, user_id, csrf_hash, created_at, expires_at"
USER_FIELDS = frozenset(
    {
        "email",
        "role",
        "password_hash",
        "must_change_password",
        "disabled",
        "last_login_at",
        "password_changed_at",
    }
)


def user_record(row: Any) -> UserRecord:
    return UserRecord(
        id=row[0],
        email=row[1],
        role=row[2],
        password_hash=row[3],
        must_change_password=bool(row[4]),
        disabled=bool(row[5]),
        created_at=row[6],
        last_login_at=row[7],
        password_changed_at=row[8],
    )


def refresh_token(row: Any) -> RefreshToken:
    return RefreshToken(
        token_hash=row[0],
        family_id=row[1],
        user_id=row[2],
        created_at=row[3],
        expires_at=row[4],
        used_at=row[5],
        revoked=bool(row[6]),
    )
