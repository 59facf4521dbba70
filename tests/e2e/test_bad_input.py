"""RFC 6455 violations get RFC answers, and a seeded fuzz run leaves the server up, responsive and honest."""

import asyncio
import json
import random
import time

import pytest
import websockets

from rawsocket import RawClient
from test_operations import metrics


def greeted(port: int) -> RawClient:
    client = RawClient(port)
    client.send_text(json.dumps({"type": "hello", "name": "raw"}))
    opcode, payload = client.next_frame()
    assert opcode == 0x1 and json.loads(payload)["type"] == "welcome"
    return client


@pytest.mark.parametrize(
    "violation, send, code",
    [
        ("an unmasked client frame", lambda c: c.send_frame(0x1, b'{"type":"ping"}', mask=False), 1002),
        ("a fragmented control frame", lambda c: c.send_frame(0x9, b"abc", fin=False), 1002),
        ("a control frame over 125 bytes", lambda c: c.send_frame(0x9, b"x" * 200), 1002),
        ("a reserved data opcode", lambda c: c.send_frame(0x3, b"abc"), 1002),
        ("a reserved control opcode", lambda c: c.send_frame(0xB, b"abc"), 1002),
        ("reserved bits without an extension", lambda c: c.send_frame(0x1, b'{"type":"ping"}', rsv=4), 1002),
        ("a continuation with nothing to continue", lambda c: c.send_frame(0x0, b"abc"), 1002),
        ("a new message inside a fragmented one", lambda c: (c.send_frame(0x1, b'{"ty', fin=False), c.send_frame(0x1, b'pe"}')), 1002),
        ("garbage instead of frames", lambda c: c.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 20), 1002),
        ("invalid UTF-8 in a text frame", lambda c: c.send_frame(0x1, b'{"type":"\xff\xfe"}'), 1007),
        ("a frame over the frame limit", lambda c: c.send_frame(0x1, b" " * 5000), 1009),
        ("a fragmented message over the limit", lambda c: [c.send_frame(0x1 if i == 0 else 0x0, b" " * 2000, fin=False) for i in range(3)], 1009),
    ],
)
def test_protocol_violations_close_with_the_rfc_code_and_others_carry_on(start_parley, violation, send, code):
    # A 4 KiB frame limit keeps the oversized input small enough to arrive whole before the server closes.
    parley = start_parley("--max-frame-bytes", "4096")
    bystander = greeted(parley.port)
    offender = greeted(parley.port)
    send(offender)
    assert offender.close_code() == code, violation
    bystander.send_text(json.dumps({"type": "ping", "ref": "still-here"}))
    assert json.loads(bystander.next_frame()[1]) == {"type": "pong", "ref": "still-here"}


def test_binary_frames_get_bad_request_and_the_connection_stays(parley):
    client = greeted(parley.port)
    client.send_frame(0x2, b"\x00\x01\x02")
    assert json.loads(client.next_frame()[1])["code"] == "bad_request"
    client.send_text(json.dumps({"type": "ping", "ref": "after"}))
    assert json.loads(client.next_frame()[1]) == {"type": "pong", "ref": "after"}


def fuzz_frame(rng: random.Random, room: str, number: int) -> tuple[str, str | None]:
    """A random or mutated command; returns (text, id of a well-formed send or None)."""
    good = {"type": "send", "room": room, "text": f"fuzz {number}", "id": f"f{number}"}
    choice = rng.randrange(12)
    if choice == 0:
        return json.dumps(good), good["id"]
    if choice == 1:
        field = rng.choice(["type", "room", "text", "id", "since", "before", "limit", "ref", "name"])
        value = rng.choice([None, 0, -1, 1.5, 10**30, -(10**30), True, [], {}, "", "x" * 300, [[[]]], {"a": {"b": 1}}])
        return json.dumps({**good, field: value}), None
    if choice == 2:
        depth = rng.randrange(1, 5000)
        return "[" * depth + "]" * depth, None
    if choice == 3:
        text = json.dumps(good)
        return text[: rng.randrange(len(text))], None
    if choice == 4:
        alphabet = "\u0000\u0007\u202e\u200d\ufeff\U0001f600é中\\\"{}[],:" + "abc"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 200))), None
    if choice == 5:
        # No `leave` of the fuzzed room: the well-formed sends must stay joined to be acknowledged.
        kind = rng.choice(["join", "history", "typing", "leave", "hello", "ping", "nope", ""])
        rooms = [room, "", "bad room", "ü", "x" * 65] if kind != "leave" else ["other", "", "bad room"]
        return json.dumps({"type": kind, "room": rng.choice(rooms), "since": rng.choice([0, 5, 10**18])}), None
    if choice == 6:
        return json.dumps({"type": "history", "room": room, "limit": rng.choice([1, 200, 10**9]), "before": rng.choice([None, 1, 10**18])}), None
    if choice == 7:
        return json.dumps({"type": "send", "room": room, "text": "x" * rng.choice([16_385, 30_000]), "id": f"big{number}"}), None
    if choice == 8:
        return "{" + '"a":1,' * rng.randrange(1, 2000) + '"type":"ping"}', None
    if choice == 9:
        return json.dumps({"type": "send", "room": room, "text": "", "id": f"empty{number}"}), None
    if choice == 10:
        return str(rng.random() * 10**rng.randrange(0, 300)), None
    text = json.dumps(good)
    position = rng.randrange(len(text))
    return text[:position] + rng.choice("{}[]\",:0") + text[position + 1:], None


def test_a_seeded_fuzz_run_keeps_the_server_up_and_stores_only_what_it_acknowledged(start_parley):
    seed = 20261126
    rng = random.Random(seed)
    node = start_parley("--rate-limit", "0")
    room = "fuzz"
    total = 3000

    async def scenario():
        sent_ids: set[str] = set()
        acked: set[str] = set()
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as bystander, \
                websockets.connect(node.ws_url, subprotocols=["parley.v1"], max_size=None) as fuzzer:
            await bystander.send(json.dumps({"type": "hello", "name": "bystander"}))
            await bystander.recv()
            await fuzzer.send(json.dumps({"type": "hello", "name": "fuzzer"}))
            await fuzzer.send(json.dumps({"type": "join", "room": room}))

            async def read_fuzzer_replies():
                while True:
                    event = json.loads(await fuzzer.recv())
                    if event["type"] == "ack":
                        acked.add(event["id"])

            reader = asyncio.create_task(read_fuzzer_replies())
            slowest = 0.0
            for number in range(total):
                text, message_id = fuzz_frame(rng, room, number)
                if message_id:
                    sent_ids.add(message_id)
                await fuzzer.send(text)
                if number % 250 == 0:
                    started = time.monotonic()
                    await bystander.send(json.dumps({"type": "ping", "ref": str(number)}))
                    assert json.loads(await asyncio.wait_for(bystander.recv(), 5)) == {"type": "pong", "ref": str(number)}
                    slowest = max(slowest, time.monotonic() - started)
            await fuzzer.send(json.dumps({"type": "ping", "ref": "done"}))
            deadline = time.monotonic() + 10
            while not sent_ids <= acked and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            reader.cancel()
            # Mutations can also make well-formed sends; those are acknowledged too.
            assert sent_ids <= acked, f"seed {seed}: {len(sent_ids - acked)} well-formed sends were not acknowledged"
            print(f"fuzz seed {seed}: {total} frames, {len(acked)} acknowledged sends, slowest bystander ping {slowest * 1000:.1f} ms")

            stored: list[dict] = []
            before = None
            while True:
                request = {"type": "history", "room": room, "limit": 200}
                if before is not None:
                    request["before"] = before
                await bystander.send(json.dumps(request))
                page = json.loads(await bystander.recv())
                while page["type"] != "history":
                    page = json.loads(await bystander.recv())
                if not page["messages"]:
                    break
                stored = page["messages"] + stored
                before = page["messages"][0]["offset"]
            stored_ids = [message["id"] for message in stored]
            assert len(stored_ids) == len(set(stored_ids))
            assert set(stored_ids) == acked, f"seed {seed}: the store holds something it did not acknowledge"
            assert [message["offset"] for message in stored] == list(range(1, len(stored) + 1))

    asyncio.run(scenario())
    assert node.process.poll() is None
    assert metrics(node)["parley_connections_open"] == 0
