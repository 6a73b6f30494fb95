"""Own keys (§6.2) and another user's prekey bundle (§6.3)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from whatsapp_client._core import verify_signed_prekey
from whatsapp_client.server.errors import ApiError, conflict, not_found
from whatsapp_client.server.routes.common import (
    b64,
    json,
    key_bytes,
    no_content,
    read_body,
    require_user,
    x25519_key,
)
from whatsapp_client.server.schemas import (
    Bundle,
    KeyStatus,
    KeysUpload,
    OneTimePreKey,
    OneTimePreKeysUpload,
    SignedPreKey,
)
from whatsapp_client.server.state import ServerState, state_of
from whatsapp_client.server.storage.records import IdentityKeys, PreKey, SignedPreKeyRecord
from whatsapp_client.server.validation import strict_uint

_LIMIT_ERRORS = {
    "too_many_prekeys": "the account would hold more one-time prekeys than the server allows",
    "duplicate_prekey": "a one-time prekey with that key_id is already stored",
}


def _prekeys(items: Sequence[OneTimePreKey]) -> list[PreKey]:
    keys = [
        PreKey(item.key_id, x25519_key(item.public_key, f"one_time_prekeys[{i}].public_key"))
        for i, item in enumerate(items)
    ]
    if len({key.key_id for key in keys}) != len(keys):
        raise conflict("duplicate_prekey", "one_time_prekeys repeats a key_id")
    return keys


def _signed(spk: SignedPreKey, signing_key: bytes) -> SignedPreKeyRecord:
    record = SignedPreKeyRecord(
        spk.key_id,
        x25519_key(spk.public_key, "signed_prekey.public_key"),
        key_bytes(spk.signature, "signed_prekey.signature", 64),
    )
    if not verify_signed_prekey(signing_key, record.key_id, record.public_key, record.signature):
        raise ApiError(400, "invalid_signature", "the signed prekey signature does not verify")
    return record


def _limit_error(code: str) -> ApiError:
    return conflict(code, _LIMIT_ERRORS.get(code, code))


async def put_keys(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    state = state_of(request)
    body = await read_body(request, KeysUpload)
    signing_key = key_bytes(body.signing_key, "signing_key")
    identity = IdentityKeys(
        x25519_key(body.identity_key, "identity_key"),
        signing_key,
        _signed(body.signed_prekey, signing_key),
    )
    prekeys = _prekeys(body.one_time_prekeys)
    error = await state.storage.replace_keys(
        user_id, identity, prekeys, state.settings.max_one_time_prekeys
    )
    if error is not None:
        _count_limit(state, error)
        raise _limit_error(error)
    return no_content()


def _count_limit(state: ServerState, code: str) -> None:
    if code == "too_many_prekeys":
        state.metrics.rate_limited.labels("one_time_prekeys").inc()


async def add_prekeys(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    state = state_of(request)
    body = await read_body(request, OneTimePreKeysUpload)
    error = await state.storage.add_prekeys(
        user_id, _prekeys(body.one_time_prekeys), state.settings.max_one_time_prekeys
    )
    if error is not None:
        _count_limit(state, error)
        raise _limit_error(error)
    return no_content()


async def put_signed_prekey(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    storage = state_of(request).storage
    body = await read_body(request, SignedPreKey)
    # Two tries: the identity may be replaced between our read and our write.
    for _ in range(2):
        signing_key = await storage.signing_key(user_id)
        if signing_key is None:
            raise not_found("no_keys", "upload keys with PUT /api/keys first")
        error = await storage.replace_signed_prekey(
            user_id, signing_key, _signed(body, signing_key)
        )
        if error is None:
            return no_content()
        if error == "no_keys":
            raise not_found("no_keys", "upload keys with PUT /api/keys first")
    raise conflict("identity_changed", "the identity keys changed meanwhile; sign again")


async def key_status(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    status = await state_of(request).storage.key_status(user_id)
    return json(KeyStatus(status.available, status.signed_prekey_id))


async def delete_prekey(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    key_id = strict_uint(request.match_info["key_id"])
    if (
        key_id is None
        or key_id > 2**32 - 1
        or not await state_of(request).storage.delete_prekey(user_id, key_id)
    ):
        raise not_found("prekey_not_found", "you hold no one-time prekey with that id")
    return no_content()


def _may_take_prekey(state: ServerState, requester: str, target: str) -> bool:
    """Whether this fetch may consume one of the target's one-time prekeys.

    Past either budget the bundle comes without one (X3DH works without it), so many
    accounts cannot drain a user's prekeys quickly, yet nobody is refused a session.
    """
    limiters = state.limiters
    pair = f"{requester} {target}"
    if limiters.prekeys_by_pair.retry_after(pair) is not None:
        state.metrics.rate_limited.labels("prekeys_per_requester_and_target").inc()
        return False
    if limiters.prekeys_by_target.hit(target) is not None:
        state.metrics.rate_limited.labels("prekeys_per_target").inc()
        return False
    limiters.prekeys_by_pair.hit(pair)
    return True


async def bundle(request: web.Request) -> web.Response:
    requester = await require_user(request)
    state = state_of(request)
    storage = state.storage
    wait = state.limiters.bundle_by_requester.hit(requester)
    if wait is not None:
        state.metrics.rate_limited.labels("bundle_fetches_per_requester").inc()
        raise ApiError(
            429, "rate_limited", "too many bundle fetches; retry later", retry_after=wait
        )
    target = request.match_info["user_id"]
    found = await storage.take_bundle(target, _may_take_prekey(state, requester, target))
    if found is None:
        if await storage.user_by_id(target) is None:
            raise not_found("user_not_found", "no such user")
        raise not_found("no_keys", "that user has not uploaded keys")
    identity = found.identity
    spk = identity.signed_prekey
    opk = found.one_time_prekey
    return json(
        Bundle(
            user_id=target,
            identity_key=b64(identity.identity_key),
            signing_key=b64(identity.signing_key),
            signed_prekey=SignedPreKey(spk.key_id, b64(spk.public_key), b64(spk.signature)),
            one_time_prekey=OneTimePreKey(opk.key_id, b64(opk.public_key)) if opk else None,
        )
    )
