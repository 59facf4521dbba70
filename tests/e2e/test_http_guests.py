"""Guests over plain HTTP (`?guest=NAME`): what a browser that cannot open a WebSocket uses when nobody signed in.
A guest over HTTP is exactly a guest over WebSocket — the same id, the same rights, the same refusals — and its
requests draw on its address's allowance, as a WebSocket guest's commands do."""

import asyncio
import urllib.parse

from identity import FAST_PASSWORDS, bearer, call
from rooms import Client, account, admin_account
from sse import EventStream


def as_guest(name: str) -> str:
    return "guest=" + urllib.parse.quote(name)


def test_a_guest_reads_posts_types_and_follows_a_stream_over_http(start_parley):
    node = start_parley(*FAST_PASSWORDS, "--rate-limit", "0")

    async def scenario():
        listener = await Client.connect(node, guest="Listener")
        await listener.call("join", room="lobby")
        me = call(node, "GET", f"/api/v1/me?{as_guest('  Bea ')}")
        assert me.status == 200, me.body
        # The name is enforced as a hello's is; the limits are those a welcome states.
        assert me.body["user"] == {"id": "guest:Bea", "name": "Bea", "guest": True}
        assert me.body["limits"]["maxTextBytes"] == 16384 and "presenceListLimit" in me.body["limits"]
        stream = EventStream(node, f"lobby&{as_guest('Bea')}")
        assert stream.status == 200
        assert stream.next_event()[0] == "welcome"
        # An open stream counts for presence, as the guest.
        presence = await listener.next("presence")
        assert (presence["event"], presence["userId"]) == ("join", "guest:Bea")
        posted = call(node, "POST", f"/api/v1/rooms/lobby/messages?{as_guest('Bea')}", {"text": "olá", "id": "g-1"})
        assert posted.status == 201, posted.body
        delivered = await listener.next("message")
        assert (delivered["fromId"], delivered["from"], delivered["text"]) == ("guest:Bea", "Bea", "olá")
        kind, data = stream.next_event(timeout=10)
        while kind != "message":
            kind, data = stream.next_event(timeout=10)
        assert (data["fromId"], data["offset"]) == ("guest:Bea", 1)
        assert call(node, "POST", f"/api/v1/rooms/lobby/typing?{as_guest('Bea')}").status == 204
        assert (await listener.next("typing"))["fromId"] == "guest:Bea"
        history = call(node, "GET", f"/api/v1/rooms/lobby/messages?{as_guest('Bea')}")
        assert [m["text"] for m in history.body["messages"]] == ["olá"]
        members = call(node, "GET", f"/api/v1/rooms/lobby/members?{as_guest('Bea')}")
        assert {"id": "guest:Bea", "name": "Bea"} in members.body["users"]
        rooms = call(node, "GET", f"/api/v1/rooms?{as_guest('Bea')}")
        assert rooms.status == 200 and "lobby" in [room["room"] for room in rooms.body["rooms"]]

    asyncio.run(scenario())


def test_a_guest_over_http_has_a_guests_rights_and_every_refusal_is_a_json_error(start_parley):
    node = start_parley(*FAST_PASSWORDS, "--rate-limit", "0")
    ana, root = account(node, "ana", "Ana"), admin_account(node)
    assert call(node, "POST", "/api/v1/rooms", {"room": "plans", "visibility": "private"}, bearer(ana)).status == 201
    assert call(node, "POST", "/api/v1/bans", {"user": "guest:Mallory"}, bearer(root)).status == 204
    guest = as_guest("Bea")
    cases = [
        ("POST", f"/api/v1/rooms?{guest}", {"room": "mine"}, None, 403, "forbidden"),
        ("GET", f"/api/v1/rooms/plans/messages?{guest}", None, None, 403, "forbidden"),
        ("POST", f"/api/v1/rooms/plans/messages?{guest}", {"text": "in?", "id": "x"}, None, 403, "forbidden"),
        ("POST", f"/api/v1/dms?{guest}", {"user": "ana"}, None, 403, "forbidden"),
        ("POST", f"/api/v1/rooms/lobby/kick?{guest}", {"user": "ana"}, None, 403, "forbidden"),
        # An account's name, however it is written, is not a guest's to take.
        ("GET", f"/api/v1/rooms?{as_guest('ANA')}", None, None, 409, "name_taken"),
        ("GET", f"/api/v1/me?{as_guest('ａｎａ')}", None, None, 409, "name_taken"),
        ("GET", f"/api/v1/rooms?{as_guest('')}", None, None, 400, "invalid_name"),
        ("GET", f"/api/v1/rooms?{as_guest(chr(0x202E))}", None, None, 400, "invalid_name"),
        ("GET", f"/api/v1/rooms?{as_guest('x' * 40)}", None, None, 400, "invalid_name"),
        # A guest name beside a credential is ambiguous: refused, never guessed.
        ("GET", f"/api/v1/rooms?{guest}", None, bearer(ana), 400, "bad_request"),
        ("GET", f"/api/v1/rooms?{as_guest('Mallory')}", None, None, 403, "forbidden"),
    ]
    for method, path, body, headers, status, code in cases:
        reply = call(node, method, path, body, headers)
        assert (reply.status, reply.code) == (status, code), (method, path, reply.body)
        assert reply.body["error"]["message"]
    refused = EventStream(node, f"plans&{guest}")
    assert (refused.status, refused.error()["error"]["code"]) == (403, "forbidden")
    # Nothing was stored, nothing was made.
    assert call(node, "GET", "/api/v1/rooms/plans/messages", headers=bearer(ana)).body["messages"] == []
    assert "mine" not in [room["room"] for room in call(node, "GET", "/api/v1/rooms", headers=bearer(ana)).body["rooms"]]


def test_a_guest_beside_an_expired_session_cookie_is_the_guest(start_parley):
    node = start_parley(*FAST_PASSWORDS, "--rate-limit", "0")
    reply = call(node, "GET", f"/api/v1/me?{as_guest('Bea')}", headers={"Cookie": "parley_session=pst_gone"})
    assert (reply.status, reply.body["user"]["id"]) == (200, "guest:Bea")


def test_a_server_without_guests_refuses_them_over_http(start_parley):
    node = start_parley(*FAST_PASSWORDS, "--guests", "off")
    for path in ("/api/v1/me", "/api/v1/rooms", "/api/v1/events?rooms=lobby&"):
        reply = call(node, "GET", path + ("&" if "?" in path else "?") + as_guest("Bea"))
        assert (reply.status, reply.code) == (401, "unauthorized"), path


def test_guests_requests_draw_on_their_addresss_allowance_whatever_names_they_use(start_parley):
    node = start_parley(*FAST_PASSWORDS, "--address-rate-limit", "1:3")
    answers = [
        call(node, "POST", f"/api/v1/rooms/lobby/messages?{as_guest(f'g{n}')}", {"text": f"m{n}", "id": f"id{n}"})
        for n in range(6)
    ]
    limited = [answer for answer in answers if answer.status == 429]
    assert len(limited) >= 2, [answer.status for answer in answers]
    assert all(answer.code == "rate_limited" and int(answer.headers["Retry-After"]) >= 1 for answer in limited)
    ana = account(node, "ana")
    stored = call(node, "GET", "/api/v1/rooms/lobby/messages", headers=bearer(ana)).body["messages"]
    assert len(stored) == len(answers) - len(limited)


def test_direct_messages_open_over_http(start_parley):
    node = start_parley(*FAST_PASSWORDS, "--rate-limit", "0")
    ana, bob = account(node, "ana", "Ana"), account(node, "bob", "Bob")
    opened = call(node, "POST", "/api/v1/dms", {"user": "bob"}, bearer(ana))
    assert opened.status == 200, opened.body
    room = opened.body["room"]
    # The same pair again: the same room.
    assert call(node, "POST", "/api/v1/dms", {"user": "ana"}, bearer(bob)).body == {"room": room}
    assert call(node, "POST", f"/api/v1/rooms/{room}/messages", {"text": "oi", "id": "d1"}, bearer(bob)).status == 201
    assert [m["text"] for m in call(node, "GET", f"/api/v1/rooms/{room}/messages", headers=bearer(ana)).body["messages"]] == ["oi"]
    assert call(node, "POST", "/api/v1/dms", {"user": "nobody"}, bearer(ana)).code == "no_such_user"
    assert call(node, "POST", "/api/v1/dms", {"user": "ana"}, bearer(ana)).code == "bad_request"
