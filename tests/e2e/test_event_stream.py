"""The event stream (shared/contracts/http-and-sse.md, "The event stream"): Server-Sent Events from a real server,
resumed exactly with Last-Event-ID on the same node and on another, counted for presence, kept open by heartbeats,
ended cleanly on shutdown, and every bad request refused with a JSON error."""

import asyncio
import json
import signal
import socket
import time

import pytest
import websockets

from identity import FAST_PASSWORDS, bearer, call
from rooms import Client, account
from sse import EventStream
from test_cluster import nginx, start_node, wait_until_ready  # noqa: F401 - fixtures
from test_operations import metrics


@pytest.fixture
def node(start_parley):
    return start_parley(*FAST_PASSWORDS, "--rate-limit", "0", "--ping-interval", "1")


def post(node, token: str, room: str, text: str, id: str):
    reply = call(node, "POST", f"/api/v1/rooms/{room}/messages", {"text": text, "id": id}, bearer(token))
    assert reply.status == 201, reply.body
    return reply.body


def test_a_stream_carries_posts_from_http_and_websocket_with_a_cursor_and_proxy_friendly_headers(node):
    ana = account(node, "ana", "Ana")
    post(node, ana, "lobby", "before", "p0")
    stream = EventStream(node, "lobby,general", bearer(ana))
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.headers["X-Accel-Buffering"] == "no"
    assert stream.next("welcome")["user"] == {"id": "ana", "name": "Ana", "guest": False}
    assert stream.next("joined", room="lobby")["head"] == 1
    # A room without an offset starts with its latest messages.
    assert stream.next("message")["text"] == "before"
    assert stream.last_event_id == "lobby:1,general:0"
    stream.next("joined", room="general")
    post(node, ana, "general", "over http", "p1")
    message = stream.next("message")
    assert (message["room"], message["text"], message["fromId"], message["offset"]) == ("general", "over http", "ana", 1)
    assert stream.last_event_id == "lobby:1,general:1"

    async def over_websocket():
        bob = await Client.connect(node, guest="Bob")
        await bob.call("join", room="lobby")
        assert (await bob.call("send", room="lobby", text="over ws", id="w1"))["type"] == "ack"
        await bob.close()

    asyncio.run(over_websocket())
    assert stream.next("message")["text"] == "over ws"
    assert stream.last_event_id == "lobby:2,general:1"
    # An idle stream carries comments (here every second, the ping interval).
    stream.next("presence", room="lobby", event="leave", timeout=10)
    assert stream.messages_until_quiet(quiet=2.5) == []
    assert "ping" in stream.comments
    assert stream.retry == 1000
    stream.close()


def test_last_event_id_resumes_every_room_with_no_gap_and_no_duplicate(node):
    ana = account(node, "ana")
    stream = EventStream(node, "a,b", bearer(ana))
    post(node, ana, "a", "a1", "1")
    post(node, ana, "b", "b1", "2")
    assert [m["text"] for m in (stream.next("message"), stream.next("message"))] == ["a1", "b1"]
    cursor = stream.last_event_id
    stream.close()
    # While nobody listens, both rooms move on.
    for n in range(2, 6):
        post(node, ana, "a", f"a{n}", f"a{n}")
        post(node, ana, "b", f"b{n}", f"b{n}")
    resumed = EventStream(node, "a,b", bearer(ana), last_event_id=cursor)
    texts = [m["text"] for m in resumed.messages_until_quiet()]
    assert sorted(t for t in texts if t.startswith("a")) == ["a2", "a3", "a4", "a5"]
    assert sorted(t for t in texts if t.startswith("b")) == ["b2", "b3", "b4", "b5"]
    assert len(texts) == 8
    # An explicit offset in rooms= starts there too; Last-Event-ID wins over it.
    assert [m["text"] for m in EventStream(node, "a:3", bearer(ana)).messages_until_quiet()] == ["a4", "a5"]
    assert [m["text"] for m in EventStream(node, "a:0", bearer(ana), last_event_id="a:4").messages_until_quiet()] == ["a5"]


def test_a_stream_counts_for_presence_and_sees_typing(node):
    ana = account(node, "ana", "Ana")

    async def scenario():
        bob = await Client.connect(node, guest="Bob")
        await bob.call("join", room="lobby")
        stream = await asyncio.to_thread(EventStream, node, "lobby", bearer(ana))
        joined = await bob.next("presence", room="lobby")
        assert (joined["event"], joined["userId"]) == ("join", "ana")
        members = call(node, "GET", "/api/v1/rooms/lobby/members", headers=bearer(ana)).body["users"]
        assert {"id": "ana", "name": "Ana"} in members
        await bob.ws.send(json.dumps({"type": "typing", "room": "lobby"}))
        typing = await asyncio.to_thread(stream.next, "typing")
        assert typing["fromId"] == "guest:Bob"
        stream.close()
        left = await bob.next("presence", room="lobby", timeout=20)
        assert (left["event"], left["userId"]) == ("leave", "ana")

    asyncio.run(scenario())


def test_a_stream_is_refused_with_a_json_error_for_every_bad_request(node):
    ana, carol = account(node, "ana"), account(node, "carol")
    assert call(node, "POST", "/api/v1/rooms", {"room": "plans", "visibility": "private"}, bearer(ana)).status == 201
    cases = [
        ("lobby", {}, None, 401, "unauthorized"),
        ("", bearer(ana), None, 400, "bad_request"),
        ("bad%20room", bearer(ana), None, 400, "invalid_room"),
        ("lobby:x", bearer(ana), None, 400, "bad_request"),
        ("lobby:-1", bearer(ana), None, 400, "bad_request"),
        ("lobby,lobby", bearer(ana), None, 400, "bad_request"),
        (",".join(f"r{n}" for n in range(51)), bearer(ana), None, 400, "bad_request"),
        ("lobby", bearer(ana), "not a cursor", 400, "bad_request"),
        ("plans", bearer(carol), None, 403, "forbidden"),
    ]
    for rooms, headers, last_event_id, status, code in cases:
        stream = EventStream(node, rooms, headers, last_event_id=last_event_id)
        assert stream.status == status, (rooms, last_event_id)
        assert stream.headers["Content-Type"].startswith("application/json")
        assert stream.error()["error"]["code"] == code, (rooms, last_event_id)


def test_a_kicked_member_s_stream_ends_and_shutdown_ends_every_stream_with_1001(node):
    ana, carol = account(node, "ana"), account(node, "carol")
    assert call(node, "POST", "/api/v1/rooms", {"room": "plans", "visibility": "private"}, bearer(ana)).status == 201
    assert call(node, "POST", "/api/v1/rooms/plans/invite", {"user": "carol"}, bearer(ana)).status == 204
    carols = EventStream(node, "plans", bearer(carol))
    carols.next("joined")
    assert call(node, "POST", "/api/v1/rooms/plans/kick", {"user": "carol"}, bearer(ana)).status == 204
    assert carols.next("removed", room="plans")["reason"] == "kicked"
    anas = EventStream(node, "plans,lobby", bearer(ana))
    anas.next("joined", room="lobby")
    node.process.send_signal(signal.SIGTERM)
    assert anas.next("close")["code"] == 1001
    assert anas.next_event() is None
    assert node.process.wait(timeout=30) == 0


def test_a_stream_resumes_on_another_node_of_a_cluster(start_parley, postgres_url):
    first = start_parley(*FAST_PASSWORDS, "--rate-limit", "0", "--node-timeout", "3", db=postgres_url)
    second = start_parley(*FAST_PASSWORDS, "--rate-limit", "0", "--node-timeout", "3", db=postgres_url)
    wait_until_ready(first)
    wait_until_ready(second)
    ana = account(first, "ana")
    stream = EventStream(first, "lobby", bearer(ana))
    post(second, ana, "lobby", "one", "1")
    assert stream.next("message")["text"] == "one"
    cursor = stream.last_event_id
    stream.close()
    for n in range(2, 5):
        post(first, ana, "lobby", f"n{n}", f"n{n}")
    resumed = EventStream(second, "lobby", bearer(ana), last_event_id=cursor)
    assert [m["text"] for m in resumed.messages_until_quiet()] == ["n2", "n3", "n4"]
    post(first, ana, "lobby", "live", "5")
    assert resumed.next("message")["text"] == "live"


def test_a_stream_that_stops_reading_is_closed_as_a_slow_consumer(node):
    """The outbox bound and the slow-consumer rule of WebSocket hold for a stream: one that never reads while 8 MB
    go to its room is closed (4008, or dropped when even that cannot be written), and the room's others get
    everything."""
    ana = account(node, "ana")
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", node.port))
    stalled.sendall(f"GET /api/v1/events?rooms=flood HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ana}\r\n\r\n".encode())
    assert stalled.recv(15) == b"HTTP/1.1 200 OK"
    total, text = 500, "x" * 16_000

    async def flood():
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"], max_size=None) as flooder:
            await flooder.send(json.dumps({"type": "hello", "name": "flooder"}))
            await flooder.send(json.dumps({"type": "join", "room": "flood"}))
            for index in range(total):
                await flooder.send(json.dumps({"type": "send", "room": "flood", "text": text, "id": str(index)}))
            offsets = []
            while len(offsets) < total:
                event = json.loads(await asyncio.wait_for(flooder.recv(), 30))
                if event["type"] == "message":
                    offsets.append(event["offset"])
            assert offsets == list(range(1, total + 1))

    asyncio.run(flood())
    deadline = time.monotonic() + 20
    while metrics(node).get("parley_slow_consumer_closes_total", 0) < 1:
        assert time.monotonic() < deadline, "the stalled stream was not closed"
        time.sleep(0.2)
    # The server let go of the connection: what the client reads ends, with the close event if it got through.
    stalled.settimeout(20)
    received = b""
    while chunk := stalled.recv(1 << 20):
        received += chunk
    assert b"data: " in received
    stalled.close()


def test_a_stream_ends_with_4001_when_its_session_is_signed_out_or_its_key_revoked(node):
    from identity import parley

    ana = account(node, "ana")
    stream = EventStream(node, "lobby", bearer(ana))
    stream.next("joined")
    started = time.monotonic()
    assert call(node, "POST", "/api/v1/logout", headers=bearer(ana)).status == 204
    closed = stream.next("close")
    assert closed["code"] == 4001 and time.monotonic() - started < 5
    assert stream.next_event() is None
    created = parley("keys", "create", "backend", "--scope", "read", "--db", str(node.db))
    key = created.stdout.strip()
    keyed = EventStream(node, "lobby", bearer(key))
    keyed.next("joined")
    assert parley("keys", "revoke", "backend", "--db", str(node.db)).returncode == 0
    # A key is checked at every heartbeat (here every second, the ping interval).
    assert keyed.next("close", timeout=10) == {"code": 4001, "reason": "the API key was revoked"}


def test_a_stream_ends_with_4001_when_its_session_expires(start_parley):
    node = start_parley("--session-days", "0.00004", *FAST_PASSWORDS)  # 3.5 s
    ana = account(node, "ana")
    stream = EventStream(node, "lobby", bearer(ana))
    stream.next("joined")
    closed = stream.next("close", timeout=15)
    assert closed == {"code": 4001, "reason": "token expired"}


def test_a_stream_passes_through_the_shipped_nginx_configuration_unbuffered_and_resumes_on_the_other_node(
        start_node, nginx):
    """deploy/nginx/parley.conf keeps nginx's default proxy buffering for everything but /ws: the stream must still
    reach the client event by event, and its cursor must resume on whichever node nginx picks."""
    a, b = start_node(*FAST_PASSWORDS, "--max-connections-per-ip", "0"), start_node(*FAST_PASSWORDS, "--max-connections-per-ip", "0")
    proxy = type("Proxy", (), {"port": nginx([a.port, b.port])})()
    ana = account(a, "ana")
    stream = EventStream(proxy, "lobby", bearer(ana))
    assert stream.status == 200
    stream.next("joined")
    for n in range(1, 4):
        post(a, ana, "lobby", f"m{n}", f"m{n}")
        # One small event at a time gets through: nothing waits for nginx's buffer to fill.
        assert stream.next("message", timeout=5)["text"] == f"m{n}"
    cursor = stream.last_event_id
    stream.close()
    post(b, ana, "lobby", "while away", "m4")
    for _ in range(2):  # round robin: one of the two lands on each node
        resumed = EventStream(proxy, "lobby", bearer(ana), last_event_id=cursor)
        assert [m["text"] for m in resumed.messages_until_quiet()] == ["while away"]
        resumed.close()
