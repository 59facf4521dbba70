"""Faults a chat server lives with: slow and stalled readers, crashes, shutdown in the middle of traffic."""

import asyncio
import json
import signal
import socket
import time

import pytest
import websockets

from rawsocket import RawClient
from test_operations import metrics


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def hello_and_join(ws, name: str, room: str) -> None:
    await ws.send(json.dumps({"type": "hello", "name": name}))
    await ws.send(json.dumps({"type": "join", "room": room}))
    while json.loads(await ws.recv())["type"] != "joined":
        pass


def test_slow_and_stalled_readers_are_closed_alone_and_memory_stays_bounded(start_parley):
    """16 MB go to a room with a fast reader, a slow one and one that never reads: the fast one gets everything in
    order, the other two are closed as slow consumers, and the server does not hold the flood for them, nor what the
    flooder sent (its memory is sampled during the flood, not only after it)."""
    node = start_parley("--rate-limit", "0")
    stalled = RawClient(node.port, receive_buffer=4096)
    stalled.send_text(json.dumps({"type": "hello", "name": "stalled"}))
    stalled.send_text(json.dumps({"type": "join", "room": "flood"}))
    while json.loads(stalled.next_frame()[1])["type"] != "joined":
        pass
    total, size = 16000, 1000
    text = "x" * size

    async def scenario():
        slow_socket = socket.create_connection(("127.0.0.1", node.port))
        slow_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"], max_size=None) as bystander, \
                websockets.connect(node.ws_url, subprotocols=["parley.v1"], sock=slow_socket, max_queue=4) as slow, \
                websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as flooder:
            for ws, name in ((bystander, "bystander"), (slow, "slow"), (flooder, "flooder")):
                await hello_and_join(ws, name, "flood")
            before = rss_kib(node.process.pid)

            flood_stored = asyncio.Event()

            async def flood():
                for index in range(total):
                    await flooder.send(json.dumps({"type": "send", "room": "flood", "text": text, "id": str(index)}))

            async def flooder_acks():
                acks = 0
                while acks < total:
                    if json.loads(await asyncio.wait_for(flooder.recv(), 30))["type"] == "ack":
                        acks += 1
                flood_stored.set()

            async def read_slowly():
                try:
                    while True:
                        await slow.recv()
                        if not flood_stored.is_set():
                            await asyncio.sleep(0.005)
                except websockets.ConnectionClosed as closed:
                    return closed.rcvd.code if closed.rcvd else None
                except (OSError, AttributeError):
                    # The websockets library occasionally fails inside its transport when the server drops the
                    # connection outright; for this test that is the same outcome as a close without a frame.
                    return None

            most_grown = 0

            async def bystander_offsets():
                nonlocal most_grown
                offsets = []
                while len(offsets) < total:
                    event = json.loads(await asyncio.wait_for(bystander.recv(), 30))
                    if event["type"] == "message":
                        offsets.append(event["offset"])
                        if len(offsets) % 500 == 0:
                            most_grown = max(most_grown, rss_kib(node.process.pid) - before)
                return offsets

            slow_close, offsets, _, _ = await asyncio.gather(read_slowly(), bystander_offsets(), flood(), flooder_acks())
            assert offsets == list(range(1, total + 1))
            # 4008 when the close frame gets through what TCP still holds within 2 s; otherwise the connection is
            # dropped without one (DESIGN: "a close frame that cannot be flushed within 2 s").
            assert slow_close in (4008, None)
            most_grown = max(most_grown, rss_kib(node.process.pid) - before)
            assert most_grown < 12_000, f"server memory grew by {most_grown} KiB while {total * size // 1_000_000} MB went past"

    asyncio.run(scenario())
    started = time.monotonic()
    assert stalled.close_code() in (None, 4008)
    assert time.monotonic() - started < 20
    assert metrics(node)["parley_slow_consumer_closes_total"] == 2


def test_a_reader_that_pauses_and_catches_up_within_its_outbox_gets_everything(start_parley):
    """A reader stops reading while 8 MB arrive for it (less than its outbox holds here, more than TCP's buffers
    hold), then reads again: the server resumed writing once the socket drained, so the reader gets every message in
    order and stays connected."""
    node = start_parley("--rate-limit", "0", "--outbox-bytes", "16000000", "--outbox-frames", "5000")
    reader = RawClient(node.port, receive_buffer=4096)
    reader.send_text(json.dumps({"type": "hello", "name": "reader"}))
    reader.send_text(json.dumps({"type": "join", "room": "burst"}))
    while json.loads(reader.next_frame()[1])["type"] != "joined":
        pass
    total, text = 1000, "y" * 8000

    async def burst():
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as sender:
            await hello_and_join(sender, "sender", "burst")
            for index in range(total):
                await sender.send(json.dumps({"type": "send", "room": "burst", "text": text, "id": str(index)}))
            acks = 0
            while acks < total:
                if json.loads(await asyncio.wait_for(sender.recv(), 30))["type"] == "ack":
                    acks += 1

    asyncio.run(burst())
    time.sleep(0.5)
    offsets = []
    while len(offsets) < total:
        event = json.loads(reader.next_frame()[1])
        if event["type"] == "message":
            offsets.append(event["offset"])
    assert offsets == list(range(1, total + 1))
    reader.send_text(json.dumps({"type": "ping", "ref": "still-there"}))
    while (event := json.loads(reader.next_frame()[1]))["type"] != "pong":
        assert event["type"] == "presence"
    assert event == {"type": "pong", "ref": "still-there"}
    assert metrics(node)["parley_slow_consumer_closes_total"] == 0


def history(url: str, room: str, since: int = 0) -> list[dict]:
    """Every message of `room` after `since`, through a fresh parley.v1 join."""

    async def read():
        async with websockets.connect(url, subprotocols=["parley.v1"], max_size=None) as ws:
            await ws.send(json.dumps({"type": "hello", "name": "auditor"}))
            await ws.send(json.dumps({"type": "join", "room": room, "since": since}))
            head = None
            messages = []
            while head is None or (messages[-1]["offset"] if messages else since) < head:
                event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if event["type"] == "joined":
                    head = event["head"]
                elif event["type"] == "message":
                    messages.append(event)
            return messages

    return asyncio.run(read())


def test_kill_9_loses_no_acknowledged_message_and_resume_gets_exactly_what_was_missed(start_parley, tmp_path):
    from conftest import free_port

    port, db = free_port(), tmp_path / "crash.sqlite"
    node = start_parley("--rate-limit", "0", db=db, port=port)
    acked: dict[str, int] = {}
    seen_by_reader: list[int] = []

    async def traffic():
        async def sender(index):
            async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as ws:
                await hello_and_join(ws, f"sender-{index}", "crash")

                async def send_all():
                    for number in range(100_000):
                        await ws.send(json.dumps({"type": "send", "room": "crash", "text": f"{index}:{number}", "id": f"{index}-{number}"}))
                        await asyncio.sleep(0.001)

                async def record_acks():
                    while True:
                        event = json.loads(await ws.recv())
                        if event["type"] == "ack":
                            acked[event["id"]] = event["offset"]

                await asyncio.gather(send_all(), record_acks())

        async def reader():
            async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as ws:
                await hello_and_join(ws, "reader", "crash")
                while True:
                    event = json.loads(await ws.recv())
                    if event["type"] == "message":
                        seen_by_reader.append(event["offset"])

        tasks = [asyncio.create_task(sender(index)) for index in range(4)] + [asyncio.create_task(reader())]
        await asyncio.sleep(1.5)
        node.process.send_signal(signal.SIGKILL)
        done, _ = await asyncio.wait(tasks, timeout=10)
        assert len(done) == len(tasks), "every client should see the connection drop"

    asyncio.run(traffic())
    assert node.process.wait(timeout=10) == -signal.SIGKILL
    assert len(acked) > 100, "the test needs traffic before the crash"

    again = start_parley(db=db, port=port)
    stored = history(again.ws_url, "crash")
    offsets = [message["offset"] for message in stored]
    assert offsets == list(range(1, len(stored) + 1)), "offsets have a gap or a repeat"
    ids = [message["id"] for message in stored]
    assert len(ids) == len(set(ids)), "a message was stored twice"
    by_id = {message["id"]: message["offset"] for message in stored}
    assert all(by_id.get(message_id) == offset for message_id, offset in acked.items()), "an acknowledged message is missing"

    last_seen = seen_by_reader[-1]
    assert seen_by_reader == list(range(1, last_seen + 1))
    resumed = history(again.ws_url, "crash", since=last_seen)
    assert [message["offset"] for message in resumed] == list(range(last_seen + 1, len(stored) + 1))


def test_sigterm_during_traffic_acknowledges_what_it_accepted_closes_with_1001_and_exits_0(start_parley):
    node = start_parley("--rate-limit", "0")
    acked: dict[str, int] = {}
    close_codes = []

    async def traffic():
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as ws:
            await hello_and_join(ws, "sender", "drain")

            async def send_all():
                try:
                    for number in range(100_000):
                        await ws.send(json.dumps({"type": "send", "room": "drain", "text": str(number), "id": str(number)}))
                        await asyncio.sleep(0.0005)
                except websockets.ConnectionClosed:
                    pass

            async def receive():
                try:
                    while True:
                        event = json.loads(await ws.recv())
                        if event["type"] == "ack":
                            acked[event["id"]] = event["offset"]
                except websockets.ConnectionClosed as closed:
                    close_codes.append(closed.rcvd.code if closed.rcvd else None)

            async def stop_soon():
                await asyncio.sleep(1)
                node.process.send_signal(signal.SIGTERM)

            await asyncio.gather(send_all(), receive(), stop_soon())

    asyncio.run(traffic())
    assert node.process.wait(timeout=30) == 0
    assert close_codes == [1001]
    assert len(acked) > 50
    again = start_parley(db=node.db)
    stored = {message["id"]: message["offset"] for message in history(again.ws_url, "drain")}
    assert all(stored.get(message_id) == offset for message_id, offset in acked.items())
    assert sorted(stored.values()) == list(range(1, len(stored) + 1))


def test_a_client_that_vanishes_leaves_presence_within_ping_interval_plus_pong_timeout(start_parley):
    node = start_parley("--ping-interval", "1", "--pong-timeout", "1")
    ghost = RawClient(node.port)  # completes the handshake, then never answers a ping
    ghost.send_text(json.dumps({"type": "hello", "name": "ghost"}))
    ghost.send_text(json.dumps({"type": "join", "room": "haunted"}))
    while True:
        opcode, payload = ghost.next_frame()
        if opcode == 0x1 and json.loads(payload)["type"] == "joined":
            break

    async def scenario():
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as watcher:
            await watcher.send(json.dumps({"type": "hello", "name": "watcher"}))
            await watcher.send(json.dumps({"type": "join", "room": "haunted"}))
            joined = None
            while joined is None:
                event = json.loads(await watcher.recv())
                if event["type"] == "joined":
                    joined = event
            assert joined["members"] == ["ghost", "watcher"]
            started = time.monotonic()
            event = json.loads(await asyncio.wait_for(watcher.recv(), 10))
            assert event == {"type": "presence", "room": "haunted", "event": "leave", "user": "ghost", "userId": "guest:ghost"}
            assert time.monotonic() - started < 1 + 1 + 1
            # The watcher's own library answers pings: it is still connected several intervals later.
            await asyncio.sleep(3.5)
            await watcher.send(json.dumps({"type": "ping", "ref": "alive"}))
            assert json.loads(await asyncio.wait_for(watcher.recv(), 5)) == {"type": "pong", "ref": "alive"}

    asyncio.run(scenario())
    assert ghost.close_code() is None


def test_connections_per_address_are_capped_and_a_freed_slot_can_be_reused(start_parley):
    node = start_parley("--max-connections-per-ip", "3")

    async def scenario():
        clients = [await websockets.connect(node.ws_url, subprotocols=["parley.v1"]) for _ in range(3)]
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(node.ws_url, subprotocols=["parley.v1"])
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["Retry-After"] == "10"
        assert json.loads(refused.value.response.body)["error"]["code"] == "rate_limited"
        await clients[0].close()
        await asyncio.sleep(0.2)
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as replacement:
            await replacement.send(json.dumps({"type": "ping", "ref": "in"}))
            assert json.loads(await asyncio.wait_for(replacement.recv(), 5))["code"] == "hello_required"
        for client in clients[1:]:
            await client.close()

    asyncio.run(scenario())


def test_a_client_flooding_bad_commands_is_rate_limited_and_others_are_served(parley):
    async def scenario():
        async with websockets.connect(parley.ws_url, subprotocols=["parley.v1"]) as flooder, \
                websockets.connect(parley.ws_url, subprotocols=["parley.v1"]) as calm:
            await hello_and_join(calm, "calm", "quiet")
            errors: dict[str, int] = {}

            async def flood():
                for _ in range(2000):
                    await flooder.send('{"type": "join", "room": 42}')

            async def count_errors():
                while sum(errors.values()) < 2000:
                    event = json.loads(await asyncio.wait_for(flooder.recv(), 10))
                    errors[event.get("code", event["type"])] = errors.get(event.get("code", event["type"]), 0) + 1

            async def calm_sends():
                for number in range(20):
                    await calm.send(json.dumps({"type": "send", "room": "quiet", "text": "hi", "id": str(number)}))
                    while json.loads(await asyncio.wait_for(calm.recv(), 10))["type"] != "ack":
                        pass

            await asyncio.gather(flood(), count_errors(), calm_sends())
            assert errors["hello_required"] >= 100
            assert errors["rate_limited"] >= 1800

    asyncio.run(scenario())
    assert metrics(parley)["parley_rate_limited_commands_total"] >= 1800


def test_shutdown_is_not_held_by_a_connection_that_never_sent_a_request(parley):
    """Browsers open sockets ahead of their next request; the HTTP server alone would wait on them forever."""
    idle = socket.create_connection(("127.0.0.1", parley.port))
    time.sleep(0.2)
    started = time.monotonic()
    assert parley.stop(timeout=20) == 0
    assert time.monotonic() - started < 10
    idle.close()
