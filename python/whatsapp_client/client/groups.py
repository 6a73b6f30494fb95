"""Group chats (PROTOCOL.md §6.6 REST and §7 ``group_message`` frames).

Groups are server-side and **not** end-to-end encrypted (the server stores and relays their
content; the user stories ask for it that way). Every group message this client sees is
kept in its own encrypted local store, so ``get_group_messages`` works offline; after each
(re)connect the client fetches what it missed from the server's group history. The data
types and the typed errors are in ``group_models`` (re-exported here).

Role errors are typed: :class:`~whatsapp_client.errors.NotGroupMemberError` (no such group,
or not a member), :class:`~whatsapp_client.errors.GroupPermissionError` (your role does not
allow it), :class:`~whatsapp_client.errors.OwnerMustTransferError` and
:class:`~whatsapp_client.errors.GroupFullError`.
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import Iterable
from typing import Any, Callable
from urllib.parse import quote

from whatsapp_client import errors
from whatsapp_client._waits import wait_for
from whatsapp_client.client.config import ClientConfig
from whatsapp_client.client.connection import Connection
from whatsapp_client.client.frames import ErrorFrame, GroupMessage, GroupMessageOut, Sent
from whatsapp_client.client.group_models import (
    ROLES,
    Group,
    GroupMember,
    dumps_group,
    group_error,
    group_record,
    history_frames,
    retype_error,
    row_to_message,
    validate_group_id,
)
from whatsapp_client.client.handlers import as_client_error
from whatsapp_client.client.http import HttpApi
from whatsapp_client.client.logging import get_logger, show_id
from whatsapp_client.client.models import Message, User
from whatsapp_client.client.sessions import validate_peer_id
from whatsapp_client.client.store import StoreExecutor, StoreProtocol

__all__ = ["ROLES", "Group", "GroupMember", "Groups", "dumps_group", "group_error"]

log = get_logger("groups")

_SEEN_KEY = "groups:last_ts:"
_CATCH_UP_LIMIT = 500


class Groups:
    """REST calls, the ``group_message`` frames and the local group history."""

    def __init__(
        self,
        *,
        http: HttpApi,
        conn: Connection,
        config: Callable[[], ClientConfig],
        login: Callable[[], tuple[User, StoreProtocol, StoreExecutor]],
        emit: Callable[..., None],
        watch: Callable[[str], None],
    ) -> None:
        self._http = http
        self._conn = conn
        self._config = config
        self._login = login
        self._emit = emit
        self._watch = watch
        self._waiters: dict[str, asyncio.Future[int]] = {}
        self._recent: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._names: dict[str, str] = {}
        self._catch_up_lock = asyncio.Lock()
        # Ids stored silently by a first-sight catch-up: if the same message then arrives
        # live, it is still handed to the handlers.
        # (sender, id) of messages stored silently at first sight of a group.
        self._silent: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()

    def reset(self) -> None:
        for fut in self._waiters.values():
            if not fut.done():
                fut.cancel()
        self._waiters.clear()
        self._recent.clear()
        self._names.clear()
        self._silent.clear()

    # --- REST ----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        self._login()
        try:
            return await self._http.request(method, path, **kwargs)
        except (errors.NotFoundError, errors.ForbiddenError, errors.ConflictError) as exc:
            raise retype_error(exc) from exc.__cause__

    def _learn(self, group: Group) -> Group:
        self._names[group.id] = group.name
        me = self._login()[0].id
        for uid in group.member_ids:
            if uid != me:
                self._watch(uid)
        return group

    async def create(self, name: str, description: str, member_ids: Iterable[str]) -> Group:
        if not isinstance(name, str) or not name.strip():
            raise errors.ValidationError("a group needs a non-empty name")
        if description is not None and not isinstance(description, str):
            raise errors.ValidationError("description must be a str")
        if isinstance(member_ids, str):
            raise errors.ValidationError("member_ids must be a list of user ids, not one string")
        ids = [validate_peer_id(m, "member id") for m in member_ids]
        body = {"name": name, "description": description or "", "member_ids": ids}
        data = await self._call("POST", "/api/groups", json=body, idempotent=False)
        group = self._learn(Group.from_json(data))
        # Everything posted from now on is new to us, even if it comes during an outage.
        _, store, executor = self._login()
        key = _SEEN_KEY + group.id

        def mark() -> None:
            if not store.kv_get(key):
                store.kv_set(key, str(group.created_at).encode())

        await executor.run(mark)
        return group

    async def list_groups(self) -> list[Group]:
        data = await self._call("GET", "/api/groups")
        groups = [self._learn(Group.from_json(g)) for g in (data or {}).get("groups", [])]
        return groups

    async def get(self, group_id: str) -> Group:
        gid = validate_group_id(group_id)
        data = await self._call("GET", f"/api/groups/{quote(gid, safe='')}")
        return self._learn(Group.from_json(data))

    async def update(self, group_id: str, name: str | None, description: str | None) -> Group:
        gid = validate_group_id(group_id)
        body: dict[str, Any] = {}
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise errors.ValidationError("a group name must be a non-empty string")
            body["name"] = name
        if description is not None:
            if not isinstance(description, str):
                raise errors.ValidationError("description must be a str")
            body["description"] = description
        if not body:
            raise errors.ValidationError("give a new name, a new description or both")
        data = await self._call(
            "PATCH", f"/api/groups/{quote(gid, safe='')}", json=body, idempotent=True
        )
        return self._learn(Group.from_json(data))

    async def add_member(self, group_id: str, user_id: str, role: str) -> Group:
        gid = validate_group_id(group_id)
        uid = validate_peer_id(user_id, "user_id")
        if role not in ROLES:
            raise errors.ValidationError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        data = await self._call(
            "POST",
            f"/api/groups/{quote(gid, safe='')}/members",
            json={"user_id": uid, "role": role},
            idempotent=True,
        )
        return self._learn(Group.from_json(data))

    async def remove_member(self, group_id: str, user_id: str) -> None:
        gid = validate_group_id(group_id)
        uid = validate_peer_id(user_id, "user_id")
        await self._call(
            "DELETE", f"/api/groups/{quote(gid, safe='')}/members/{quote(uid, safe='')}"
        )

    async def leave(self, group_id: str) -> None:
        me = self._login()[0].id
        await self.remove_member(group_id, me)

    # --- messages ------------------------------------------------------------------------

    async def send(self, group_id: str, content: str) -> Message:
        gid = validate_group_id(group_id)
        user, store, executor = self._login()
        if not isinstance(content, str) or not content:
            raise errors.ValidationError("a group message is a non-empty str")
        cfg = self._config()
        try:
            size = len(content.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise errors.ValidationError("content is not valid Unicode") from exc
        if size > cfg.max_text_bytes:
            raise errors.ValidationError(
                f"text is {size} bytes of UTF-8; the limit is {cfg.max_text_bytes}",
                code="too_large",
            )
        if not self._conn.is_connected():
            raise errors.ConnectionError(
                "not connected: group messages are sent live only (they are not queued); "
                "wait_until_connected() and send again"
            )
        mid = str(uuid.uuid4())
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters[mid] = fut
        self._remember(mid)
        try:
            await self._conn.send(GroupMessageOut(id=mid, group_id=gid, content=content))
            ts = await wait_for(asyncio.shield(fut), cfg.send_timeout)
        except asyncio.TimeoutError as exc:
            raise errors.ConnectionError(
                f"the server did not confirm group message {mid} in {cfg.send_timeout}s"
            ) from exc
        finally:
            self._waiters.pop(mid, None)
            if not fut.done():
                fut.cancel()
        message = Message(
            id=mid,
            from_user=user.id,
            to=gid,
            content=content,
            type="text",
            timestamp=ts,
            status="sent",
            direction="out",
            payload={"type": "text", "text": content},
            group_id=gid,
            group_name=self._names.get(gid),
        )
        await executor.run(store.save_message, group_record(message))
        return message

    def connection_lost(self) -> None:
        """The connection dropped: senders waiting for the server's answer give up now."""
        for mid, fut in list(self._waiters.items()):
            if not fut.done():
                fut.set_exception(
                    errors.ConnectionError(
                        f"the connection dropped before the server confirmed group message "
                        f"{mid}; it may or may not have been stored (see get_group_messages "
                        "after the reconnect before sending it again)"
                    )
                )

    def _remember(self, mid: str) -> None:
        self._recent[mid] = None
        while len(self._recent) > 4096:
            self._recent.popitem(last=False)

    def on_sent(self, frame: Sent) -> bool:
        """True when the ``sent`` frame answers one of our group messages."""
        fut = self._waiters.get(frame.id)
        if fut is not None:
            if not fut.done():
                fut.set_result(frame.timestamp)
            return True
        return frame.id in self._recent

    def on_error(self, frame: ErrorFrame) -> bool:
        """True when the error frame answers one of our group messages."""
        if frame.id is None:
            return False
        fut = self._waiters.get(frame.id)
        if fut is not None:
            if not fut.done():
                fut.set_exception(group_error(frame.code, frame.message))
            return True
        return frame.id in self._recent

    def _message(self, frame: GroupMessage, me: str) -> Message:
        if frame.group_name:
            self._names[frame.group_id] = frame.group_name
        own = frame.from_ == me
        return Message(
            id=frame.id,
            from_user=frame.from_,
            to=frame.group_id,
            content=frame.content,
            type="text",
            timestamp=frame.timestamp,
            status="sent" if own else "received",
            direction="out" if own else "in",
            payload={"type": "text", "text": frame.content},
            group_id=frame.group_id,
            group_name=frame.group_name or self._names.get(frame.group_id),
        )

    async def on_frame(self, frame: GroupMessage) -> None:
        await self._ingest(frame, live=True)

    async def _ingest(self, frame: GroupMessage, *, live: bool) -> bool:
        """Stores one group message; True when it was new and handed to the handlers."""
        try:
            user, store, executor = self._login()
        except errors.AuthenticationError:
            return False
        message = self._message(frame, user.id)
        record = group_record(message)
        key = _SEEN_KEY + frame.group_id

        def save() -> bool:
            new = bool(store.save_message(record))
            raw = store.kv_get(key)
            if not raw or int(raw.decode()) < frame.timestamp:
                store.kv_set(key, str(frame.timestamp).encode())
            return new

        try:
            new = await executor.run(save)
        except Exception as exc:  # one group message must not stop the others
            what = f"storing group message {show_id(frame.id)} from {show_id(frame.from_)}"
            log.warning("%s failed: %r", what, exc)
            self._emit("error", as_client_error(exc, what + " failed"))
            return False
        if live and not new and self._silent.pop((frame.from_, frame.id), False) is None:
            new = True  # stored by the first-sight catch-up, but it came live: announce it
        if new and message.direction == "in":
            self._watch(frame.from_)
            self._emit("group_message", message)
            return True
        return False

    async def catch_up(self) -> int:
        """Fetches the group messages missed while offline, stores them and hands the new
        ones to the handlers, oldest first. Returns how many were new."""
        async with self._catch_up_lock:
            user, store, executor = self._login()
            total = 0
            for group in await self.list_groups():
                key = _SEEN_KEY + group.id
                raw = await executor.run(store.kv_get, key)
                since = int(raw.decode()) if raw else None
                data = await self._call(
                    "GET",
                    f"/api/groups/{quote(group.id, safe='')}/messages",
                    params={"limit": str(_CATCH_UP_LIMIT)},
                )
                frames = history_frames(data)
                if since is None:
                    # First sight of this group on this device: keep its history, announce
                    # nothing old.
                    def keep(
                        fs: list[GroupMessage] = frames, k: str = key
                    ) -> list[tuple[str, str]]:
                        newest = 0
                        stored: list[tuple[str, str]] = []
                        for f in fs:
                            newest = max(newest, f.timestamp)
                            try:
                                record = group_record(self._message(f, user.id))
                                if store.save_message(record):
                                    stored.append((f.from_, f.id))
                            except Exception as exc:  # one message must not stop the others
                                log.warning("group message %s not stored: %r", show_id(f.id), exc)
                        store.kv_set(k, str(newest).encode())
                        return stored

                    for sender_and_id in await executor.run(keep):
                        self._silent[sender_and_id] = None
                    while len(self._silent) > 4096:
                        self._silent.popitem(last=False)
                    continue
                for f in frames:
                    if f.timestamp >= since and await self._ingest(f, live=False):
                        total += 1
            return total

    async def history(self, group_id: str, limit: int, before: int | None) -> list[Message]:
        gid = validate_group_id(group_id)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10000:
            raise errors.ValidationError("limit must be an integer between 1 and 10000")
        if before is not None and (
            not isinstance(before, int) or isinstance(before, bool) or before < 0
        ):
            raise errors.ValidationError("before must be a timestamp in milliseconds")
        user, store, executor = self._login()
        rows = await executor.run(store.messages, gid, limit, before)
        return [row_to_message(r, user.id, self._names) for r in rows if r.group_id == gid]

    def snapshot(self) -> dict[str, Any]:
        return {"names": dict(self._names), "waiting": sorted(self._waiters)}
