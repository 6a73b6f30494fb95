from __future__ import annotations

from tests.client.conftest import PASSWORD, ClientFactory, Registered, eventually
from whatsapp_client.client import Message


async def test_identity_change_raises_the_event_both_ways(
    make_client: ClientFactory, registered: Registered
) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id
    assert bob.user is not None
    bob_user = bob.user
    at_alice: list[Message] = []
    alice.on_message(at_alice.append)
    changed: list[str] = []
    alice.on_identity_change(changed.append)
    await alice.send_message(bob.user.id, "hi bob")
    await bob.send_message(alice.user_id, "hi alice")
    await eventually(lambda: len(at_alice) == 1)
    old_fp = bob.get_fingerprint()
    await bob.close()

    # Bob reinstalls: a new device (empty storage) creates and uploads a new identity.
    bob2 = make_client(storage="bob-new-device")
    await bob2.login(bob_user.username, PASSWORD)
    assert bob2.get_fingerprint() != old_fp

    # A message from the new identity: accepted, and the event fires.
    await bob2.send_message(alice.user_id, "new phone, who dis")
    await eventually(lambda: len(at_alice) == 2, what="message from the new identity")
    assert at_alice[1].content == "new phone, who dis"
    await eventually(lambda: changed == [bob_user.id], what="identity change event")
    assert alice._store_obj is not None
    ident = alice._store_obj.peer_identity(bob_user.id)
    assert ident is not None
    assert ident.fingerprint == bob2.get_fingerprint()
    assert not ident.verified

    # request_key_refresh starts a fresh session; replies still flow both ways.
    at_bob2: list[Message] = []
    bob2.on_message(at_bob2.append)
    await alice.request_key_refresh(bob_user.id)
    await alice.send_message(bob_user.id, "welcome back")
    await eventually(lambda: [m.content for m in at_bob2] == ["welcome back"])


async def test_refresh_against_a_changed_identity_fires_the_event(
    make_client: ClientFactory, registered: Registered
) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert bob.user is not None
    bob_user = bob.user
    changed: list[str] = []
    alice.on_identity_change(changed.append)
    await alice.send_message(bob_user.id, "hello")
    await bob.close()
    bob2 = make_client(storage="elsewhere")
    await bob2.login(bob_user.username, PASSWORD)
    await alice.request_key_refresh(bob_user.id)
    await eventually(lambda: changed == [bob_user.id])
