"""Groups (§6.6). Non-members get 404 so group ids do not leak; wrong role gets 403."""

from __future__ import annotations

import uuid

from aiohttp import web

from whatsapp_client.server.errors import ApiError
from whatsapp_client.server.routes.common import (
    json,
    no_content,
    query_int,
    read_body,
    require_user,
)
from whatsapp_client.server.schemas import (
    Group,
    GroupCreate,
    GroupMessage,
    GroupMessages,
    Groups,
    GroupUpdate,
    Member,
    MemberAdd,
)
from whatsapp_client.server.state import state_of
from whatsapp_client.server.storage.records import GroupRecord

_ERRORS: dict[str, tuple[int, str]] = {
    "group_not_found": (404, "no such group, or you are not a member"),
    "user_not_found": (404, "no such user"),
    "member_not_found": (404, "that user is not a member of the group"),
    "forbidden": (403, "your role in this group does not allow that"),
    "group_full": (409, "the group has reached the maximum size"),
    "owner_must_transfer": (
        409,
        "the owner cannot leave or step down while other members remain;"
        " make another member owner first",
    ),
}

MAX_HISTORY = 500
DEFAULT_HISTORY = 50


def _fail(code: str) -> ApiError:
    status, message = _ERRORS.get(code, (400, code))
    return ApiError(status, code, message)


def _out(group: GroupRecord) -> Group:
    return Group(
        id=group.id,
        name=group.name,
        description=group.description,
        owner_id=group.owner_id,
        created_at=group.created_at,
        members=[Member(m.user_id, m.username, m.role) for m in group.members],
    )


def _result(result: GroupRecord | str, status: int = 200) -> web.Response:
    if isinstance(result, str):
        raise _fail(result)
    return json(_out(result), status=status)


async def create_group(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    state = state_of(request)
    body = await read_body(request, GroupCreate)
    result = await state.storage.create_group(
        str(uuid.uuid4()),
        body.name,
        body.description,
        user_id,
        body.member_ids,
        state.settings.max_group_size,
    )
    if result == "group_full":
        state.metrics.rate_limited.labels("group_size").inc()
    return _result(result, status=201)


async def list_groups(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    groups = await state_of(request).storage.groups_of(user_id)
    return json(Groups([_out(group) for group in groups]))


async def get_group(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    group = await state_of(request).storage.get_group(request.match_info["group_id"])
    if group is None or group.role_of(user_id) is None:
        raise _fail("group_not_found")
    return json(_out(group))


async def update_group(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    body = await read_body(request, GroupUpdate)
    result = await state_of(request).storage.update_group(
        request.match_info["group_id"], user_id, body.name, body.description
    )
    return _result(result)


async def add_member(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    state = state_of(request)
    body = await read_body(request, MemberAdd)
    result = await state.storage.add_member(
        request.match_info["group_id"],
        user_id,
        body.user_id,
        body.role,
        state.settings.max_group_size,
    )
    if result == "group_full":
        state.metrics.rate_limited.labels("group_size").inc()
    return _result(result)


async def remove_member(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    error = await state_of(request).storage.remove_member(
        request.match_info["group_id"], user_id, request.match_info["user_id"]
    )
    if error is not None:
        raise _fail(error)
    return no_content()


async def history(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    limit = query_int(request, "limit", DEFAULT_HISTORY, 1, MAX_HISTORY) or DEFAULT_HISTORY
    before = query_int(request, "before", None, 0, 2**63 - 1)
    rows = await state_of(request).storage.group_history(
        request.match_info["group_id"], user_id, limit, before
    )
    if rows is None:
        raise _fail("group_not_found")
    return json(
        GroupMessages(
            [
                GroupMessage(r.id, r.group_id, r.group_name, r.sender, r.content, r.timestamp)
                for r in rows
            ]
        )
    )
