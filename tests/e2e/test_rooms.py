"""Private rooms, direct messages, roles and moderation (shared/contracts/rooms-and-moderation.md): every rule, and
every refusal changing nothing, on a real server with its SQLite file."""

import asyncio
import hashlib

import pytest

from identity import FAST_PASSWORDS
from rooms import Client, account, admin_account


@pytest.fixture
def node(start_parley):
    return start_parley(*FAST_PASSWORDS, "--rate-limit", "0")


def kernel_send_queue(server_port: int, client_port: int) -> int:
    """Bytes the kernel holds unsent on the server's end of a loopback TCP connection (/proc/net/tcp)."""
    for line in open("/proc/net/tcp").readlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":"), fields[2].split(":")
        if int(local[1], 16) == server_port and int(remote[1], 16) == client_port:
            return int(fields[4].split(":")[0], 16)
    raise AssertionError(f"no connection from port {client_port} to {server_port}")


def run(scenario):
    asyncio.run(scenario())


def test_a_private_room_is_invisible_and_closed_to_everyone_but_its_members(node):
    ana_token, carol_token = account(node, "ana", "Ana"), account(node, "carol", "Carol")

    async def scenario():
        ana, carol = await Client.connect(node, token=ana_token), await Client.connect(node, token=carol_token)
        guest = await Client.connect(node, guest="Visitor")
        created = await ana.call("create", room="plans", visibility="private")
        assert (created["type"], created["room"], created["visibility"]) == ("created", "plans", "private")
        joined = await ana.call("join", room="plans")
        assert (joined["type"], joined["kind"], joined["visibility"]) == ("joined", "room", "private")
        assert (await ana.call("send", room="plans", text="secret", id="s1"))["type"] == "ack"
        # Every path that reads or writes the room refuses an outsider, a guest too.
        for outsider in (carol, guest):
            for command, fields in [
                ("join", {"room": "plans"}),
                ("join", {"room": "plans", "since": 0}),
                ("history", {"room": "plans"}),
            ]:
                refused = await outsider.call(command, **fields)
                assert (refused["type"], refused["code"]) == ("error", "forbidden"), (command, refused)
            assert (await outsider.call("send", room="plans", text="in?", id="x"))["code"] == "forbidden"
            assert (await outsider.call("typing", room="plans"))["code"] == "forbidden"
            assert (await outsider.call("members", room="plans"))["code"] == "forbidden"
            assert "plans" not in [r["room"] for r in (await outsider.call("rooms"))["rooms"]]
        assert await carol.nothing_of("plans") == []
        mine = {r["room"]: r for r in (await ana.call("rooms"))["rooms"]}
        assert mine["plans"] == {"room": "plans", "kind": "room", "visibility": "private", "head": 1, "members": 1, "role": "owner"}
        # Nothing was stored by the refusals.
        assert [m["text"] for m in (await ana.call("history", room="plans"))["messages"]] == ["secret"]

    run(scenario)


def test_create_refuses_a_taken_name_guests_and_bad_visibility(node):
    ana_token = account(node, "ana")

    async def scenario():
        ana, guest = await Client.connect(node, token=ana_token), await Client.connect(node, guest="Visitor")
        assert (await guest.call("join", room="lobby2"))["type"] == "joined"
        assert (await ana.call("create", room="lobby2", visibility="public"))["code"] == "room_exists"
        assert (await ana.call("create", room="mine", visibility="public"))["type"] == "created"
        assert (await ana.call("create", room="mine", visibility="private"))["code"] == "room_exists"
        assert (await guest.call("create", room="guestroom", visibility="public"))["code"] == "forbidden"
        assert (await ana.call("create", room="x", visibility="secret"))["code"] == "bad_request"
        assert (await ana.call("create", room="x"))["code"] == "bad_request"
        assert (await ana.call("create", room="bad name!", visibility="public"))["code"] == "invalid_room"
        # A public room with an owner is open to anyone, guests included.
        assert (await guest.call("join", room="mine"))["visibility"] == "public"

    run(scenario)


def test_invitations_let_people_in_and_tell_them_on_every_connection(node):
    ana_token, bea_token, carol_token = account(node, "ana"), account(node, "bea", "Bea"), account(node, "carol")

    async def scenario():
        ana, carol = await Client.connect(node, token=ana_token), await Client.connect(node, token=carol_token)
        bea_phone, bea_laptop = await Client.connect(node, token=bea_token), await Client.connect(node, token=bea_token)
        guest = await Client.connect(node, guest="Visitor")
        await ana.call("create", room="team", visibility="private")
        assert (await ana.call("invite", room="team", user="bea"))["type"] == "done"
        for bea in (bea_phone, bea_laptop):
            assert await bea.next("invited") == {"type": "invited", "room": "team", "by": "ana"}
        assert (await bea_phone.call("join", room="team"))["type"] == "joined"
        # A member who does not moderate cannot invite; nor can an outsider; guests cannot be invited.
        assert (await bea_phone.call("invite", room="team", user="carol"))["code"] == "forbidden"
        assert (await carol.call("invite", room="team", user="carol"))["code"] == "forbidden"
        assert (await ana.call("invite", room="team", user="nobody"))["code"] == "no_such_user"
        assert (await ana.call("invite", room="team", user="guest:Visitor"))["code"] == "forbidden"
        assert (await carol.call("join", room="team"))["code"] == "forbidden"
        # Public rooms need no invitation.
        await ana.call("create", room="open", visibility="public")
        assert (await ana.call("invite", room="open", user="carol"))["code"] == "bad_request"
        assert (await guest.call("invite", room="team", user="carol"))["code"] == "forbidden"

    run(scenario)


def test_direct_messages_are_one_room_per_pair_and_closed_to_everyone_else(node):
    ana_token, bea_token, carol_token = account(node, "ana", "Ana"), account(node, "bea", "Bea"), account(node, "carol")

    async def scenario():
        ana, bea = await Client.connect(node, token=ana_token), await Client.connect(node, token=bea_token)
        carol, guest = await Client.connect(node, token=carol_token), await Client.connect(node, guest="Visitor")
        # The room of Ana and Bea's messages is named by a hash anyone can compute: nobody may take the name first.
        their_room = "dm-" + hashlib.sha256(b"ana\0bea").hexdigest()[:32]
        for outsider in (carol, guest):
            assert (await outsider.call("join", room=their_room))["code"] == "forbidden"
        assert (await carol.call("create", room=their_room, visibility="public"))["code"] == "forbidden"
        opened = await ana.call("dm", user="bea")
        assert (opened["type"], opened["kind"], opened["visibility"], opened["peer"]) == (
            "joined", "dm", "private", {"id": "bea", "name": "Bea"}
        )
        room = opened["room"]
        assert room == their_room
        assert await bea.next("invited", room=room) == {"type": "invited", "room": room, "by": "ana"}
        assert (await ana.call("send", room=room, text="oi Bea", id="d1"))["type"] == "ack"
        answered = await bea.call("dm", user="ana")
        assert (answered["room"], answered["peer"]) == (room, {"id": "ana", "name": "Ana"})
        assert [m["text"] for m in await replayed(bea, room, 1)] == ["oi Bea"]
        assert (await carol.call("join", room=room))["code"] == "forbidden"
        assert (await carol.call("history", room=room))["code"] == "forbidden"
        assert (await carol.call("dm", user="nobody"))["code"] == "no_such_user"
        assert (await guest.call("dm", user="ana"))["code"] == "forbidden"
        assert (await ana.call("dm", user="ana"))["code"] == "bad_request"
        listed = {r["room"]: r for r in (await bea.call("rooms"))["rooms"]}
        assert listed[room]["kind"] == "dm" and listed[room]["peer"] == {"id": "ana", "name": "Ana"}
        assert room not in [r["room"] for r in (await carol.call("rooms"))["rooms"]]

    run(scenario)


async def replayed(client: Client, room: str, count: int) -> list[dict]:
    return [await client.next("message", room=room) for _ in range(count)]


def test_a_kicked_member_stops_receiving_the_room_at_once_even_what_was_queued(node):
    ana_token, bea_token = account(node, "ana"), account(node, "bea")

    async def scenario():
        ana = await Client.connect(node, token=ana_token)
        bea = await Client.connect(node, token=bea_token, receive_buffer=4096)
        await ana.call("create", room="busy", visibility="public")
        await ana.call("join", room="busy")
        await bea.call("join", room="busy")
        # Bea stops reading while the room fills the kernel's buffers for her socket (until they stop growing),
        # then the server's own buffer and her outbox, with 20 frames (320 KB, well under the 1 MiB bound).
        big = "x" * 16_000
        sent = 0

        async def send_big():
            nonlocal sent
            await ana.ws.send(f'{{"type":"send","room":"busy","text":"{big}","id":"m{sent}"}}')
            sent += 1

        bea_port, last, steady = bea.ws.local_address[1], -1, 0
        while steady < 5:
            await send_big()
            await asyncio.sleep(0.05)
            queued = kernel_send_queue(node.port, bea_port)
            steady, last = (steady + 1 if queued == last else 0), queued
            assert sent < 900, "the kernel kept taking frames for a client that reads nothing"
        for _ in range(20):
            await send_big()
        await asyncio.sleep(0.5)
        assert (await ana.call("kick", room="busy", user="bea"))["type"] == "done"
        received, removed_at = [], None
        while removed_at is None:
            event = await bea.next_any()
            if event["type"] == "removed":
                removed_at = len(received)
                assert event == {"type": "removed", "room": "busy", "reason": "kicked"}
            elif event.get("room") == "busy":
                received.append(event)
        assert await bea.nothing_of("busy", seconds=1.0) == [], "nothing of the room after removed"
        assert len(received) < sent, "what was still queued for her was dropped"
        assert (await bea.call("send", room="busy", text="still here?", id="b1"))["code"] == "not_joined"
        # A kick is not a ban: a public room takes her back.
        assert (await bea.call("join", room="busy"))["type"] == "joined"

    run(scenario)


def test_bans_keep_people_out_until_unbanned_and_only_moderators_may_moderate(node):
    tokens = {name: account(node, name) for name in ("ana", "bea", "carol", "dan")}

    async def scenario():
        ana, bea, carol, dan = [await Client.connect(node, token=tokens[n]) for n in ("ana", "bea", "carol", "dan")]
        await ana.call("create", room="club", visibility="private")
        for name in ("bea", "carol", "dan"):
            await ana.call("invite", room="club", user=name)
        for member in (bea, carol, dan):
            await member.call("join", room="club")
        # Roles: only the owner gives them; the owner's cannot change; roles must be moderator or member.
        assert (await bea.call("role", room="club", user="carol", role="moderator"))["code"] == "forbidden"
        assert (await ana.call("role", room="club", user="bea", role="moderator"))["type"] == "done"
        assert (await ana.call("role", room="club", user="bea", role="owner"))["code"] == "bad_request"
        assert (await ana.call("role", room="club", user="nobody", role="member"))["code"] == "not_member"
        # A moderator kicks and bans members, not the owner; a member moderates nothing.
        assert (await bea.call("kick", room="club", user="ana"))["code"] == "forbidden"
        assert (await carol.call("kick", room="club", user="dan"))["code"] == "forbidden"
        assert (await carol.call("ban", room="club", user="dan"))["code"] == "forbidden"
        assert (await bea.call("kick", room="club", user="nobody"))["code"] == "not_member"
        assert (await bea.call("ban", room="club", user="dan"))["type"] == "done"
        assert await dan.next("removed") == {"type": "removed", "room": "club", "reason": "banned"}
        for command, fields in [
            ("join", {"room": "club"}),
            ("history", {"room": "club"}),
            ("send", {"room": "club", "text": "back?", "id": "d1"}),
            ("typing", {"room": "club"}),
        ]:
            assert (await dan.call(command, **fields))["code"] == "forbidden", command
        # Invited again, still banned; unbanned and invited, back in.
        await ana.call("invite", room="club", user="dan")
        assert (await dan.call("join", room="club"))["code"] == "forbidden"
        assert (await carol.call("unban", room="club", user="dan"))["code"] == "forbidden"
        assert (await bea.call("unban", room="club", user="dan"))["type"] == "done"
        assert (await dan.call("join", room="club"))["type"] == "joined"
        # Banning someone who is not a member keeps them out of a public room too.
        await ana.call("create", room="square", visibility="public")
        assert (await ana.call("ban", room="square", user="carol"))["type"] == "done"
        assert (await carol.call("join", room="square"))["code"] == "forbidden"
        roles = {r["room"]: r.get("role") for r in (await bea.call("rooms"))["rooms"]}
        assert roles["club"] == "moderator"

    run(scenario)


def test_deleting_a_message_erases_its_text_and_logs_the_deletion_for_everyone(node):
    ana_token, bea_token, carol_token = account(node, "ana"), account(node, "bea"), account(node, "carol")
    secret = "the launch code is 0000-unique-7f3a"

    async def scenario():
        ana, bea, carol = [await Client.connect(node, token=t) for t in (ana_token, bea_token, carol_token)]
        await ana.call("create", room="ops", visibility="public")
        for client in (ana, bea, carol):
            await client.call("join", room="ops")
        sent = await bea.call("send", room="ops", text=secret, id="oops")
        other = await carol.call("send", room="ops", text="carol's", id="c1")
        offset = sent["offset"]
        # Not the author, not a moderator: refused, nothing changes.
        assert (await carol.call("delete", room="ops", offset=offset))["code"] == "forbidden"
        assert (await bea.call("delete", room="ops", offset=999))["code"] == "bad_request"
        assert (await bea.call("delete", room="ops", offset=offset))["type"] == "done"
        for client in (ana, bea, carol):
            deleted = await client.next("deleted")
            assert deleted == {"type": "deleted", "room": "ops", "offset": other["offset"] + 1, "target": offset, "by": "bea"}
        # The owner deletes anyone's; deleting twice changes nothing.
        assert (await ana.call("delete", room="ops", offset=other["offset"]))["type"] == "done"
        assert (await ana.call("delete", room="ops", offset=offset))["type"] == "done"
        history = (await carol.call("history", room="ops"))["messages"]
        assert [(m["offset"], m["text"], m.get("deleted")) for m in history] == [(offset, "", True), (other["offset"], "", True)]
        # A client that was away learns of each deletion exactly once, in order, from the log.
        late = await Client.connect(node, token=carol_token)
        await late.call("join", room="ops", since=0)
        log = [await late.next_any() for _ in range(4)]
        assert [(e["type"], e.get("target")) for e in log] == [
            ("message", None), ("message", None), ("deleted", offset), ("deleted", other["offset"])
        ]
        assert log[0]["deleted"] is True and log[0]["text"] == ""
        assert await late.nothing_of("ops") == []

    run(scenario)
    node.stop()
    for suffix in ("", "-wal"):
        path = f"{node.db}{suffix}"
        try:
            data = open(path, "rb").read()
        except FileNotFoundError:
            continue
        assert secret.encode() not in data, f"the deleted text is still in {path}"


def test_an_admin_bans_a_user_from_the_server_and_they_cannot_connect_until_unbanned(node):
    root_token, ana_token = admin_account(node), account(node, "ana")

    async def scenario():
        root, ana, ana_again = [await Client.connect(node, token=t) for t in (root_token, ana_token, ana_token)]
        assert (await ana.call("ban", user="root"))["code"] == "forbidden"
        assert (await root.call("ban", user="ana"))["type"] == "done"
        assert await ana.close_code() == 4003
        assert await ana_again.close_code() == 4003
        with pytest.raises(Exception) as refused:
            await Client.connect(node, token=ana_token)
        assert "4003" in str(refused.value) or "forbidden" in str(refused.value)
        assert (await root.call("unban", user="ana"))["type"] == "done"
        back = await Client.connect(node, token=ana_token)
        assert back.user["id"] == "ana"

    run(scenario)


def test_memberships_roles_and_bans_survive_a_restart(start_parley, tmp_path):
    database = tmp_path / "rooms.sqlite"
    first = start_parley(*FAST_PASSWORDS, db=database)
    tokens = {name: account(first, name) for name in ("ana", "bea", "carol")}

    async def before():
        ana = await Client.connect(first, token=tokens["ana"])
        await ana.call("create", room="vault", visibility="private")
        await ana.call("invite", room="vault", user="bea")
        await ana.call("role", room="vault", user="bea", role="moderator")
        await ana.call("create", room="hall", visibility="public")
        await ana.call("ban", room="hall", user="carol")

    run(before)
    first.stop()
    second = start_parley(*FAST_PASSWORDS, db=database)

    async def after():
        bea, carol = await Client.connect(second, token=tokens["bea"]), await Client.connect(second, token=tokens["carol"])
        assert (await bea.call("join", room="vault"))["type"] == "joined"
        assert {r["room"]: r.get("role") for r in (await bea.call("rooms"))["rooms"]}["vault"] == "moderator"
        assert (await carol.call("join", room="vault"))["code"] == "forbidden"
        assert (await carol.call("join", room="hall"))["code"] == "forbidden"

    run(after)


def test_in_a_public_room_whoever_is_there_can_be_made_moderator_and_be_kicked(node):
    ana_token, bea_token, carol_token = account(node, "ana"), account(node, "bea"), account(node, "carol")

    async def scenario():
        ana, bea, carol = [await Client.connect(node, token=t) for t in (ana_token, bea_token, carol_token)]
        await ana.call("create", room="town", visibility="public")
        for person in (ana, bea, carol):
            assert (await person.call("join", room="town"))["type"] == "joined"
        assert (await ana.call("role", room="town", user="bea", role="moderator"))["type"] == "done"
        assert (await bea.call("kick", room="town", user="carol"))["type"] == "done"
        assert (await carol.next("removed", room="town"))["reason"] == "kicked"
        assert (await bea.call("kick", room="town", user="carol"))["code"] == "not_member", "she is gone"
        assert (await ana.call("role", room="town", user="nobody", role="moderator"))["code"] == "not_member"
        listed = {r["room"]: r for r in (await ana.call("rooms"))["rooms"]}
        assert listed["town"]["members"] == 2, "a public room counts who is in it"

    run(scenario)
