"""Operator accounts: users with an email, a role and an Argon2id password hash.

Passwords are hashed with argon2-cffi's ``PasswordHasher`` and its recommended parameters
(RFC 9106's second choice: 64 MiB, 3 passes, 4 lanes), off the event loop. A login checks
a hash even for an unknown email, so the answer time does not tell which emails exist.
On a first start with no user, an admin is created with a random password that the caller
prints once (never logged).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Callable, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from whatsapp_client.gateway._account_records import Role, UserRecord
from whatsapp_client.gateway._auth import InsecureApiKey
from whatsapp_client.gateway._errors import InvalidRequest, NotFound
from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._logs import get_logger
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage

log = get_logger("accounts")

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # Argon2 takes any length; a bound keeps a request from being costly
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not _EMAIL.fullmatch(email) or not email.isprintable():
        raise InvalidRequest("email must look like name@domain")
    return email


def check_password(password: str, field: str = "password") -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidRequest(f"{field} must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")


class WrongPassword(InvalidRequest):
    """The current password given to a password change is wrong."""


class InsecureAdminPassword(InsecureApiKey):
    """The configured first-admin password is too short; the gateway refuses to start."""


def check_settings(settings: GatewaySettings) -> None:
    """Refuses, before anything starts, a first-admin email or password that would be
    refused at the first start."""
    try:
        check_email(settings.admin_email)
        if settings.admin_password is not None:
            check_password(settings.admin_password, "WHATSAPP_GATEWAY_ADMIN_PASSWORD")
    except InvalidRequest as exc:
        raise InsecureAdminPassword(exc.message) from None


def temporary_password() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 bits


class Accounts:
    """Users and their passwords, over the storage."""

    def __init__(
        self,
        storage: Storage,
        settings: GatewaySettings,
        *,
        hasher: Optional[PasswordHasher] = None,
        wall_ms: Callable[[], int] = now_ms,
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._hasher = hasher or PasswordHasher()
        self._wall_ms = wall_ms
        self._dummy_hash: Optional[str] = None
        # The admin the environment's API keys act as (set by bootstrap).
        self.first_admin: Optional[UserRecord] = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)

    async def bootstrap(self) -> Optional[tuple[str, str]]:
        """With no user yet: creates the first admin and returns ``(email, password)`` for
        the caller to show once (None when the password came from the settings). Sessions
        and keys without an owner (an upgraded database) pass to the first admin."""
        created: Optional[tuple[str, str]] = None
        users = await self._storage.list_users()
        if not users:
            email = check_email(self._settings.admin_email)
            given = self._settings.admin_password
            if given is not None:
                check_password(given, "WHATSAPP_GATEWAY_ADMIN_PASSWORD")
            password = given if given is not None else temporary_password()
            await self.create(email, "admin", password, must_change=given is None)
            if given is None:
                created = (email, password)
            log.info("first admin created", extra={"email": email})
            users = await self._storage.list_users()
        admins = [u for u in users if u.role == "admin" and not u.disabled] or users
        self.first_admin = admins[0]
        claimed = await self._storage.claim_unowned(self.first_admin.id)
        if claimed:
            log.info(
                "sessions and keys without owner given to the first admin",
                extra={"count": claimed, "email": self.first_admin.email},
            )
        return created

    async def create(
        self, email: str, role: Role, password: str, *, must_change: bool
    ) -> UserRecord:
        email = check_email(email)
        check_password(password)
        now = self._wall_ms()
        user = UserRecord(
            id=new_id("usr"),
            email=email,
            role=role,
            password_hash=await self.hash(password),
            must_change_password=must_change,
            disabled=False,
            created_at=now,
            password_changed_at=now,
        )
        await self._storage.create_user(user)
        return user

    async def get(self, user_id: str) -> UserRecord:
        user = await self._storage.get_user(user_id)
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        return user

    async def check_login(self, email: str, password: str) -> Optional[UserRecord]:
        """The user if the email and password match an enabled account, else None (after
        the same work either way)."""
        user = await self._storage.find_user(email.strip()) if len(email) <= 254 else None
        if len(password) > MAX_PASSWORD:
            return None
        if user is None:
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash(temporary_password())
            await self._verify(self._dummy_hash, password)
            return None
        if not await self._verify(user.password_hash, password) or user.disabled:
            return None
        if self._hasher.check_needs_rehash(user.password_hash):
            await self._storage.update_user(user.id, password_hash=await self.hash(password))
        return await self._storage.update_user(user.id, last_login_at=self._wall_ms())

    async def change_password(
        self, user: UserRecord, current: str, new: str, *, keep_browser: Optional[str] = None
    ) -> UserRecord:
        """Ends every other login of the user (the browser session ``keep_browser`` stays)."""
        if not await self._verify(user.password_hash, current):
            raise WrongPassword("current_password is wrong")
        check_password(new, "new_password")
        if new == current:
            raise InvalidRequest("new_password must differ from the current one")
        return await self._set_password(user.id, new, must_change=False, keep=keep_browser)

    async def reset_password(self, user_id: str) -> tuple[UserRecord, str]:
        """A temporary password, to be changed at the next login; ends every login."""
        await self.get(user_id)
        password = temporary_password()
        return await self._set_password(user_id, password, must_change=True), password

    async def _set_password(
        self, user_id: str, password: str, *, must_change: bool, keep: Optional[str] = None
    ) -> UserRecord:
        now = self._wall_ms()
        user = await self._storage.update_user(
            user_id,
            password_hash=await self.hash(password),
            must_change_password=must_change,
            password_changed_at=now,
        )
        await self._storage.end_logins(user_id, now, keep)
        return user
