"""The chat over plain HTTP (shared/contracts/http-and-sse.md, "The API"): every endpoint against a real server, with
the same access rules as parley.v1, and every bad input answered with the contract's status and a JSON error that
changes nothing."""

import asyncio
import time

import pytest

from identity import FAST_PASSWORDS, bearer, call
from rooms import Client, account, admin_account


@pytest.fixture
def node(start_parley):
    return start_parley(*FAST_PASSWORDS, "--rate-limit", "0")


def post(node, token: str, room: str, text: str, id: str, **extra):
    return call(node, "POST", f"/api/v1/rooms/{room}/messages", {"text": text, "id": id, **extra}, bearer(token))


def test_a_post_over_http_is_stored_once_acknowledged_and_delivered_over_websocket(node):
    ana = account(node, "ana", "Ana")

    async def scenario():
        listener = await Client.connect(node, guest="Listener")
        await listener.call("join", room="lobby")
        first = post(node, ana, "lobby", "hello from a backend", "b-1")
        assert first.status == 201, first.body
        assert set(first.body) == {"room", "id", "offset", "ts"}
        assert (first.body["room"], first.body["id"], first.body["offset"]) == ("lobby", "b-1", 1)
        delivered = await listener.next("message")
        assert (delivered["text"], delivered["fromId"], delivered["from"], delivered["offset"]) == ("hello from a backend", "ana", "Ana", 1)
        # The same id again: the original ack, nothing stored twice, nothing delivered twice.
        again = post(node, ana, "lobby", "hello from a backend", "b-1")
        assert (again.status, again.body) == (200, first.body)
        assert await listener.nothing_of("lobby") == []
        # A message sent over WebSocket is read over HTTP.
        ws = await Client.connect(node, token=ana)
        await ws.call("join", room="lobby")
        assert (await ws.call("send", room="lobby", text="from a socket", id="w-1"))["type"] == "ack"
        page = call(node, "GET", "/api/v1/rooms/lobby/messages", headers=bearer(ana))
        assert page.status == 200
        assert [(m["offset"], m["text"]) for m in page.body["messages"]] == [(1, "hello from a backend"), (2, "from a socket")]

    asyncio.run(scenario())


def test_history_reads_backwards_with_before_and_forwards_with_after(node):
    ana = account(node, "ana")
    for n in range(1, 8):
        assert post(node, ana, "lobby", f"m{n}", f"id{n}").status == 201

    def texts(query: str) -> list[str]:
        reply = call(node, "GET", f"/api/v1/rooms/lobby/messages{query}", headers=bearer(ana))
        assert reply.status == 200, reply.body
        assert reply.body["room"] == "lobby"
        return [m["text"] for m in reply.body["messages"]]

    assert texts("") == [f"m{n}" for n in range(1, 8)]
    assert texts("?limit=3") == ["m5", "m6", "m7"]
    assert texts("?before=5&limit=2") == ["m3", "m4"]
    assert texts("?after=2&limit=3") == ["m3", "m4", "m5"]
    assert texts("?after=7") == []
    assert texts("?after=2&before=5") == ["m3", "m4"]
    assert texts("?after=5&before=2") == []
    for query in ("?after=-1", "?before=x", "?limit=0", "?limit=ten"):
        reply = call(node, "GET", f"/api/v1/rooms/lobby/messages{query}", headers=bearer(ana))
        assert (reply.status, reply.code) == (400, "bad_request"), query


def test_the_api_applies_the_rooms_access_rules(node):
    ana, carol = account(node, "ana"), account(node, "carol")
    created = call(node, "POST", "/api/v1/rooms", {"room": "plans", "visibility": "private"}, bearer(ana))
    assert (created.status, created.body) == (201, {"room": "plans", "visibility": "private"})
    assert call(node, "POST", "/api/v1/rooms", {"room": "plans"}, bearer(carol)).code == "room_exists"
    assert post(node, ana, "plans", "secret", "s1").status == 201
    # An outsider is refused everywhere, and nothing changes.
    refused = post(node, carol, "plans", "in?", "x")
    assert (refused.status, refused.code) == (403, "forbidden")
    for method, path, body in [
        ("GET", "/api/v1/rooms/plans/messages", None),
        ("GET", "/api/v1/rooms/plans/messages?after=0", None),
        ("GET", "/api/v1/rooms/plans/members", None),
        ("POST", "/api/v1/rooms/plans/typing", None),
        ("DELETE", "/api/v1/rooms/plans/messages/1", None),
        ("POST", "/api/v1/rooms/plans/invite", {"user": "carol"}),
    ]:
        reply = call(node, method, path, body, bearer(carol))
        assert (reply.status, reply.code) == (403, "forbidden"), (method, path, reply.body)
    assert "plans" not in [r["room"] for r in call(node, "GET", "/api/v1/rooms", headers=bearer(carol)).body["rooms"]]
    # Once invited, carol may read, post and see the room in her list.
    assert call(node, "POST", "/api/v1/rooms/plans/invite", {"user": "carol"}, bearer(ana)).status == 204
    assert "plans" in [r["room"] for r in call(node, "GET", "/api/v1/rooms", headers=bearer(carol)).body["rooms"]]
    assert post(node, carol, "plans", "in!", "c1").status == 201
    history = call(node, "GET", "/api/v1/rooms/plans/messages", headers=bearer(carol)).body["messages"]
    assert [m["text"] for m in history] == ["secret", "in!"]
    # Only its author or a moderator deletes a message.
    assert call(node, "DELETE", "/api/v1/rooms/plans/messages/1", headers=bearer(carol)).code == "forbidden"
    assert call(node, "DELETE", "/api/v1/rooms/plans/messages/2", headers=bearer(carol)).status == 204
    assert call(node, "DELETE", "/api/v1/rooms/plans/messages/99", headers=bearer(ana)).code == "bad_request"
    # Kicked, carol is out again; a ban is lifted by unban.
    assert call(node, "POST", "/api/v1/rooms/plans/role", {"user": "carol", "role": "moderator"}, bearer(carol)).code == "forbidden"
    assert call(node, "POST", "/api/v1/rooms/plans/kick", {"user": "carol"}, bearer(ana)).status == 204
    assert post(node, carol, "plans", "again?", "c2").code == "forbidden"
    assert call(node, "POST", "/api/v1/rooms/plans/kick", {"user": "nobody"}, bearer(ana)).status == 404


def test_moderation_and_server_bans_over_http(node):
    root, ana, bob = admin_account(node), account(node, "ana"), account(node, "bob")
    assert call(node, "POST", "/api/v1/rooms", {"room": "club", "visibility": "public"}, bearer(ana)).status == 201
    assert post(node, bob, "club", "hi", "b1").status == 201
    assert call(node, "POST", "/api/v1/rooms/club/role", {"user": "bob", "role": "moderator"}, bearer(ana)).status == 204
    assert call(node, "POST", "/api/v1/rooms/club/role", {"user": "bob"}, bearer(ana)).code == "bad_request"
    assert call(node, "POST", "/api/v1/rooms/club/role", {"user": "bob", "role": "king"}, bearer(ana)).code == "bad_request"
    assert call(node, "POST", "/api/v1/rooms/club/ban", {"user": "mallory"}, bearer(bob)).status == 204
    assert call(node, "POST", "/api/v1/rooms/club/unban", {"user": "mallory"}, bearer(bob)).status == 204
    # Server bans are for admins only.
    assert call(node, "POST", "/api/v1/bans", {"user": "bob"}, bearer(ana)).code == "forbidden"
    assert call(node, "POST", "/api/v1/bans", {"user": "bob"}, bearer(root)).status == 204
    assert post(node, bob, "club", "still here?", "b2").code == "forbidden"
    assert call(node, "DELETE", "/api/v1/bans/bob", headers=bearer(ana)).code == "forbidden"
    assert call(node, "DELETE", "/api/v1/bans/bob", headers=bearer(root)).status == 204


def test_members_and_typing_over_http(node):
    ana = account(node, "ana", "Ana")

    async def scenario():
        guest = await Client.connect(node, guest="Visitor")
        await guest.call("join", room="lobby")
        members = call(node, "GET", "/api/v1/rooms/lobby/members", headers=bearer(ana))
        assert members.status == 200
        assert members.body == {"room": "lobby", "users": [{"id": "guest:Visitor", "name": "Visitor"}]}
        assert call(node, "POST", "/api/v1/rooms/lobby/typing", headers=bearer(ana)).status == 204
        typing = await guest.next("typing")
        assert (typing["room"], typing["fromId"]) == ("lobby", "ana")

    asyncio.run(scenario())


def test_every_bad_request_gets_its_status_and_a_json_error_and_stores_nothing(node):
    ana = account(node, "ana")
    cases = [
        (None, "POST", "/api/v1/rooms/lobby/messages", {"text": "hi", "id": "1"}, 401, "unauthorized"),
        ({"Authorization": "Bearer not-a-token"}, "GET", "/api/v1/rooms", None, 401, "unauthorized"),
        (bearer(ana), "POST", "/api/v1/rooms/bad%20room/messages", {"text": "hi", "id": "1"}, 400, "invalid_room"),
        (bearer(ana), "POST", "/api/v1/rooms/lobby/messages", {"text": "", "id": "1"}, 400, "bad_request"),
        (bearer(ana), "POST", "/api/v1/rooms/lobby/messages", {"text": "hi", "id": ""}, 400, "bad_request"),
        (bearer(ana), "POST", "/api/v1/rooms/lobby/messages", {"text": "hi"}, 400, "bad_request"),
        (bearer(ana), "POST", "/api/v1/rooms/lobby/messages", {"text": 5, "id": "1"}, 400, "bad_request"),
        (bearer(ana), "POST", "/api/v1/rooms/lobby/messages", {"text": "x" * 70_000, "id": "1"}, 413, "too_large"),
        (bearer(ana), "POST", "/api/v1/rooms/lobby/messages", {"text": "a\u0000b", "id": "1"}, 400, "bad_request"),
        (bearer(ana), "DELETE", "/api/v1/rooms/lobby/messages/one", None, 400, "bad_request"),
        (bearer(ana), "POST", "/api/v1/rooms", {"room": "dm-x"}, 403, "forbidden"),
    ]
    for headers, method, path, body, status, code in cases:
        reply = call(node, method, path, body, headers)
        assert (reply.status, reply.code) == (status, code), (method, path, body and str(body)[:40], reply.body)
        assert reply.headers["Content-Type"].startswith("application/json")
        assert reply.body["error"]["message"]
    raw = call(node, "POST", "/api/v1/rooms/lobby/messages", headers=bearer(ana), raw=b"{not json")
    assert (raw.status, raw.code) == (400, "bad_request")
    # What no route takes is still a JSON error: a method the path lacks (with Allow), a path the API lacks.
    wrong_method = call(node, "PUT", "/api/v1/rooms/lobby/messages", {"text": "hi", "id": "1"}, bearer(ana))
    assert (wrong_method.status, wrong_method.code, wrong_method.headers["Allow"]) == (405, "bad_request", "GET, POST")
    unknown = call(node, "GET", "/api/v1/nothing-here", headers=bearer(ana))
    assert (unknown.status, unknown.code) == (404, "bad_request")
    # A credential in the URL is refused, never used.
    assert call(node, "GET", "/api/v1/rooms?token=" + ana).status == 400
    assert call(node, "GET", "/api/v1/rooms/lobby/messages", headers=bearer(ana)).body["messages"] == []



def test_a_token_user_who_only_uses_the_api_becomes_known_and_can_be_invited(start_parley, tmp_path):
    import jwt

    secret = "an HS256 secret of well over thirty-two bytes"
    (tmp_path / "secret.txt").write_text(secret + "\n")
    node = start_parley(*FAST_PASSWORDS, "--rate-limit", "0", "--jwt-key", str(tmp_path / "secret.txt"))
    ana = account(node, "ana")
    bob = jwt.encode({"sub": "u-bob", "name": "Bob", "exp": int(time.time()) + 600}, secret, algorithm="HS256")
    assert call(node, "POST", "/api/v1/rooms", {"room": "plans", "visibility": "private"}, bearer(ana)).status == 201
    # A token's user is known once seen: before bob's first request, nobody can invite him.
    assert call(node, "POST", "/api/v1/rooms/plans/invite", {"user": "u-bob"}, bearer(ana)).code == "no_such_user"
    assert call(node, "GET", "/api/v1/rooms", headers=bearer(bob)).status == 200
    assert call(node, "POST", "/api/v1/rooms/plans/invite", {"user": "u-bob"}, bearer(ana)).status == 204
    assert post(node, bob, "plans", "thanks", "b1").status == 201


def test_posting_faster_than_a_user_may_is_429_with_retry_after_and_stores_nothing(start_parley):
    node = start_parley(*FAST_PASSWORDS, "--rate-limit", "0", "--user-rate-limit", "1:2")
    ana = account(node, "ana")
    answers = [post(node, ana, "lobby", f"m{n}", f"id{n}") for n in range(4)]
    limited = [answer for answer in answers if answer.status == 429]
    assert limited, [answer.status for answer in answers]
    assert all(answer.code == "rate_limited" and int(answer.headers["Retry-After"]) >= 1 for answer in limited)
    stored = call(node, "GET", "/api/v1/rooms/lobby/messages", headers=bearer(ana)).body["messages"]
    assert len(stored) == len(answers) - len(limited)

