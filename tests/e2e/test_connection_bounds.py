"""After the upgrade: what one client can make the server hold or do (ping floods, forged pongs, fat names, replies
bigger than the frame limit, limits multiplied by many connections from one address) and what it can put in the
logs."""

import asyncio
import json
import socket
import struct
import time

import websockets

from rawsocket import RawClient
from test_faults import rss_kib
from test_operations import metrics


def test_a_ping_flood_from_a_client_that_never_reads_costs_the_server_little(start_parley):
    """Before hello, 125-byte pings as fast as the socket takes them, nothing read: pings are rate limited like
    commands and their pongs go through the bounded outbox, so the flooder is slowed by TCP (or closed as a slow
    consumer) instead of growing the server."""
    node = start_parley()
    flooder = RawClient(node.port, receive_buffer=4096)
    flooder.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    flooder.sock.settimeout(0.2)
    before = rss_kib(node.process.pid)
    ping = RawClient.frame(0x9, b"p" * 125)
    sent = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            flooder.sock.sendall(ping * 64)
            sent += 64
        except (TimeoutError, BlockingIOError):
            pass
    grown = rss_kib(node.process.pid) - before
    assert grown < 20_000, f"the server grew by {grown} KiB under {sent} pings"

    async def bystander() -> float:
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as ws:
            await ws.send(json.dumps({"type": "hello", "name": "bystander"}))
            started = time.monotonic()
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"
            return time.monotonic() - started

    assert asyncio.run(bystander()) < 1
    flooder.close()


def test_pings_count_toward_the_rate_limit(start_parley):
    node = start_parley("--rate-limit", "10:100")
    client = RawClient(node.port)
    started = time.monotonic()
    for index in range(1000):
        client.send_frame(0x9, struct.pack("!I", index))
    pongs = 0
    client.sock.settimeout(2)
    try:
        while True:
            opcode, payload = client.next_frame()
            if opcode == 0xA:
                pongs += 1
    except TimeoutError:
        pass
    elapsed = time.monotonic() - started
    allowed = 1000 - metrics(node)["parley_rate_limited_commands_total"]
    assert allowed <= 100 + 10 * elapsed + 5, f"{allowed} of 1000 pings allowed in {elapsed:.1f} s"
    assert pongs == allowed


def test_a_forged_pong_does_not_keep_a_dead_client_connected(start_parley):
    """A client that never answers pings but once sent a pong with the largest sequence number is still dropped
    within the ping interval plus the pong timeout."""
    node = start_parley("--ping-interval", "1", "--pong-timeout", "1")
    client = RawClient(node.port)
    client.send_frame(0xA, b"\xff" * 8)
    client.send_frame(0xA, b"")
    client.sock.settimeout(10)
    started = time.monotonic()
    pings, dropped = 0, False
    try:
        while time.monotonic() - started < 8:
            opcode, payload = client.next_frame()
            if opcode == 0x9:
                pings += 1
                assert len(payload) == 8
                # Eight bytes, but not the ones this ping carried: no answer either.
                client.send_frame(0xA, b"\x00" * 8)
    except (EOFError, ConnectionResetError):
        dropped = True
    assert dropped and pings >= 1 and time.monotonic() - started < 4


def test_answering_pings_keeps_a_raw_client_connected(start_parley):
    node = start_parley("--ping-interval", "1", "--pong-timeout", "1")
    client = RawClient(node.port)
    client.sock.settimeout(1)
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        try:
            opcode, payload = client.next_frame()
        except TimeoutError:
            continue
        assert opcode == 0x9
        client.send_frame(0xA, payload)
    client.send_text(json.dumps({"type": "ping", "ref": "alive"}))
    client.sock.settimeout(5)
    while True:
        opcode, payload = client.next_frame()
        if opcode == 0x1:
            assert json.loads(payload) == {"type": "error", "code": "hello_required", "message": "send hello first", "ref": "alive"}
            break


def hello(ws_url: str, name: str) -> dict:
    async def scenario():
        async with websockets.connect(ws_url, subprotocols=["parley.v1"]) as ws:
            await ws.send(json.dumps({"type": "hello", "name": name, "ref": "h"}, ensure_ascii=False))
            return json.loads(await ws.recv())

    return asyncio.run(scenario())


def test_fat_names_are_refused_and_names_are_enforced_as_precis_nicknames(parley):
    fat = "a" + "\u0301" * 30_000
    for name in (fat, "a" + "\u0301" * 11, "😀" * 33, "\u3164\u3164", "\u2800", "x" * 129):
        reply = hello(parley.ws_url, name)
        assert reply["type"] == "error" and reply["code"] == "invalid_name", name[:8]
    assert hello(parley.ws_url, "\u00a0 Ana \u3000 Maria  ")["user"]["name"] == "Ana Maria"
    assert hello(parley.ws_url, "Zoe\u0308")["user"]["name"] == "Zo\u00eb"
    assert hello(parley.ws_url, "👨‍👩‍👧‍👦 família")["user"]["name"] == "👨‍👩‍👧‍👦 família"


def test_a_history_page_is_bounded_by_its_encoded_size(start_parley):
    """Texts of control characters take six bytes each once escaped in JSON: a page budgeted by text bytes alone
    would be six times its budget."""
    # Escaped, the client's own frames are six times their text too.
    node = start_parley("--rate-limit", "0", "--max-frame-bytes", "131072")
    text = "\u0001" * 16_000

    async def scenario():
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"], max_size=None) as ws:
            await ws.send(json.dumps({"type": "hello", "name": "escaper"}))
            await ws.send(json.dumps({"type": "join", "room": "escapes"}))
            for index in range(40):
                await ws.send(json.dumps({"type": "send", "room": "escapes", "text": text, "id": str(index)}))
            acks = 0
            while acks < 40:
                if json.loads(await ws.recv())["type"] == "ack":
                    acks += 1
            await ws.send(json.dumps({"type": "history", "room": "escapes", "limit": 200, "ref": "page"}))
            while True:
                frame = await ws.recv()
                event = json.loads(frame)
                if event["type"] == "history":
                    return len(frame.encode()), event["messages"]

    size, messages = asyncio.run(scenario())
    assert size <= 512 * 1024 + 1024, f"a history frame of {size} bytes"
    assert 1 <= len(messages) < 40 and messages[-1]["offset"] == 40


def test_one_address_cannot_multiply_its_command_limit_with_connections(start_parley):
    """20 connections, each within its own burst of 100 commands: together they get the address's burst (here 300)
    and its rate, not 2,000 commands."""
    node = start_parley("--address-rate-limit", "50:300")

    async def scenario():
        clients = [await websockets.connect(node.ws_url, subprotocols=["parley.v1"]) for _ in range(20)]
        started = time.monotonic()
        for ws in clients:
            for index in range(100):
                await ws.send(json.dumps({"type": "ping", "ref": str(index)}))
        outcomes = {"pong": 0, "rate_limited": 0, "hello_required": 0}
        for ws in clients:
            for _ in range(100):
                event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                outcomes[event.get("code", event["type"])] += 1
        elapsed = time.monotonic() - started
        for ws in clients:
            await ws.close()
        return outcomes, elapsed

    outcomes, elapsed = asyncio.run(scenario())
    allowed = outcomes["hello_required"]
    assert outcomes["rate_limited"] + allowed == 2000
    assert 300 <= allowed <= 300 + 50 * elapsed + 10, f"{allowed} commands allowed in {elapsed:.1f} s"


def test_one_address_cannot_multiply_its_stored_text_with_connections(start_parley):
    node = start_parley("--address-text-rate", "1000:100000")
    text = "t" * 10_000

    async def scenario():
        clients = [await websockets.connect(node.ws_url, subprotocols=["parley.v1"]) for _ in range(10)]
        for number, ws in enumerate(clients):
            await ws.send(json.dumps({"type": "hello", "name": f"writer{number}"}))
            await ws.send(json.dumps({"type": "join", "room": "bulk"}))
        for number, ws in enumerate(clients):
            for index in range(5):
                await ws.send(json.dumps({"type": "send", "room": "bulk", "text": text, "id": f"{number}-{index}"}))
        acks, refused = 0, 0
        for ws in clients:
            answered = 0
            while answered < 5:
                event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if event["type"] == "ack":
                    acks += 1
                elif event["type"] == "error":
                    assert event["code"] == "rate_limited"
                    refused += 1
                else:
                    continue
                answered += 1
        for ws in clients:
            await ws.close()
        return acks, refused

    acks, refused = asyncio.run(scenario())
    assert acks + refused == 50
    assert 10 <= acks <= 12, f"{acks} texts of 10 kB stored for an address allowed 100 kB and 1 kB/s"


def test_a_connection_joins_a_bounded_number_of_rooms(start_parley):
    node = start_parley("--max-joined-rooms", "3", "--rate-limit", "0")

    async def scenario():
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as ws:
            await ws.send(json.dumps({"type": "hello", "name": "joiner"}))
            await ws.recv()
            replies = []
            for room in ("a", "b", "c", "d", "a"):
                await ws.send(json.dumps({"type": "join", "room": room, "ref": room}))
                replies.append(json.loads(await ws.recv()))
            return replies

    replies = asyncio.run(scenario())
    assert [reply["type"] for reply in replies] == ["joined", "joined", "joined", "error", "joined"]
    assert replies[3]["code"] == "bad_request" and "leave one" in replies[3]["message"]


def test_a_key_given_twice_is_refused(parley):
    async def scenario():
        async with websockets.connect(parley.ws_url, subprotocols=["parley.v1"]) as ws:
            await ws.send('{"type":"hello","name":"Ana","name":"Admin","ref":"1"}')
            first = json.loads(await ws.recv())
            await ws.send('{"type":"hello","name":"Ana","ref":"2"}')
            second = json.loads(await ws.recv())
            await ws.send('{"type":"ping","ref":"3","r\\u0065f":"4"}')
            third = json.loads(await ws.recv())
            await ws.send('{"type":"ping","ref":"5","nested":[{"a":1},{"a":1}],"object":{"a":{"a":1}}}')
            fourth = json.loads(await ws.recv())
            return first, second, third, fourth

    first, second, third, fourth = asyncio.run(scenario())
    assert first["code"] == "bad_request" and first["ref"] == "1" and "twice" in first["message"]
    assert second["type"] == "welcome" and second["user"]["name"] == "Ana"
    assert third["code"] == "bad_request"
    assert fourth == {"type": "pong", "ref": "5"}


def test_refused_origins_are_logged_escaped_truncated_and_throttled(start_parley):
    node = start_parley()
    origin = "http://\u202eevil" + "x" * 10_000
    for _ in range(30):
        client = socket.create_connection(("127.0.0.1", node.port), timeout=10)
        client.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{node.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            ).encode()
            + b"Origin: " + origin.encode() + b"\r\n\r\n"
        )
        assert client.recv(12) == b"HTTP/1.1 101"
        client.close()
    time.sleep(0.5)
    lines = [line for line in node.stderr().splitlines() if "refused WebSocket from another origin" in line]
    assert 1 <= len(lines) <= 10, f"{len(lines)} lines for 30 refusals"
    assert all(len(line) < 600 and "\u202e" not in line for line in lines)
    assert "\\u{202e}evil" in lines[0]
