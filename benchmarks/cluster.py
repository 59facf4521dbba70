"""Two Parley nodes on one PostgreSQL: commit latency, and messages carried from one node to the other.

    python benchmarks/cluster.py ws://127.0.0.1:8001/ws ws://127.0.0.1:8002/ws [SENDERS] [WINDOW] [SECONDS] [RATE]

1. Commit latency: one client on node A sends one message at a time; each ack means committed in PostgreSQL
   (and the NOTIFY sent). Prints ack latency percentiles and messages/s.
2. Cross-node latency at a steady pace: one client on node A sends RATE messages/s (open loop) for SECONDS;
   a reader on node B reports the latency from each message's scheduled send time to its receipt.
3. Cross-node throughput: SENDERS clients on node A, each keeping WINDOW sends in flight, for SECONDS; one reader
   on node B in the same room. Everything the reader gets went through LISTEN/NOTIFY. Prints messages/s
   committed and received on B, and the latency from send on A to receipt on B.

Every sender is also a member of the room and reads the whole fan-out, so a few senders with many sends in
flight measure the server better than many senders (the Python client would be the bottleneck).
Start the nodes with --rate-limit 0. benchmarks/cluster.sh does all of it.
"""

import asyncio
import json
import statistics
import sys
import time
import uuid

import websockets


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(label: str, latencies: list[float]) -> str:
    ms = [value * 1000 for value in latencies]
    return (
        f"{label}: p50 {percentile(ms, 0.5):.2f} ms, p90 {percentile(ms, 0.9):.2f} ms, "
        f"p99 {percentile(ms, 0.99):.2f} ms, max {max(ms):.2f} ms"
    )


async def connect(url: str, name: str, room: str):
    ws = await websockets.connect(url, subprotocols=["parley.v1"], max_size=None, max_queue=None)
    await ws.send(json.dumps({"type": "hello", "name": name}))
    await ws.send(json.dumps({"type": "join", "room": room}))
    while json.loads(await ws.recv())["type"] != "joined":
        pass
    return ws


async def commit_latency(url: str, count: int = 500) -> None:
    room = f"commit-{uuid.uuid4().hex[:8]}"
    ws = await connect(url, "committer", room)
    latencies = []
    started = time.perf_counter()
    for n in range(count):
        sent = time.perf_counter()
        await ws.send(json.dumps({"type": "send", "room": room, "text": "x" * 100, "id": str(n)}))
        while json.loads(await ws.recv())["type"] != "ack":
            pass
        latencies.append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - started
    await ws.close()
    print(f"one client, one message at a time: {count / elapsed:,.0f} msg/s")
    print(report("  ack (committed)", latencies))


async def paced(url_a: str, url_b: str, rate: float, seconds: float) -> None:
    room = f"paced-{uuid.uuid4().hex[:8]}"
    reader = await connect(url_b, "reader", room)
    writer = await connect(url_a, "pacer", room)
    scheduled: dict[str, float] = {}
    latencies: list[float] = []
    count = int(rate * seconds)

    async def write() -> None:
        start = time.perf_counter()
        for n in range(count):
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            scheduled[str(n)] = due
            await writer.send(json.dumps({"type": "send", "room": room, "text": "x" * 100, "id": str(n)}))

    async def drain_writer() -> None:
        while True:
            await writer.recv()

    async def read() -> None:
        while len(latencies) < count:
            event = json.loads(await asyncio.wait_for(reader.recv(), 10))
            if event["type"] == "message":
                latencies.append(time.perf_counter() - scheduled[event["id"]])

    drainer = asyncio.create_task(drain_writer())
    await asyncio.gather(write(), read())
    drainer.cancel()
    print(f"one sender on node A at {rate:,.0f} msg/s (open loop), one reader on node B, {seconds:.0f} s:")
    print(report("  scheduled send on A -> message on B", latencies))
    await writer.close()
    await reader.close()


async def cross_node(url_a: str, url_b: str, senders: int, window: int, seconds: float) -> None:
    room = f"fanout-{uuid.uuid4().hex[:8]}"
    reader = await connect(url_b, "reader", room)
    writers = [await connect(url_a, f"writer{index}", room) for index in range(senders)]
    sent_at: dict[str, float] = {}
    received: list[float] = []
    acked = 0
    stop_at = time.perf_counter() + seconds

    async def write(index: int, ws) -> None:
        nonlocal acked
        slots = asyncio.Semaphore(window)

        async def acks() -> None:
            nonlocal acked
            while True:
                event = json.loads(await ws.recv())
                if event["type"] == "ack":
                    acked += 1
                    slots.release()

        ack_task = asyncio.create_task(acks())
        n = 0
        while True:
            await slots.acquire()
            if time.perf_counter() >= stop_at:
                break
            message_id = f"{index}-{n}"
            sent_at[message_id] = time.perf_counter()
            await ws.send(json.dumps({"type": "send", "room": room, "text": "x" * 100, "id": message_id}))
            n += 1
        await asyncio.sleep(2)
        ack_task.cancel()

    async def read() -> None:
        try:
            while True:
                event = json.loads(await asyncio.wait_for(reader.recv(), 5))
                if event["type"] == "message":
                    received.append(time.perf_counter() - sent_at[event["id"]])
        except asyncio.TimeoutError:
            pass

    read_task = asyncio.create_task(read())
    await asyncio.gather(*(write(index, ws) for index, ws in enumerate(writers)))
    await read_task
    print(f"{senders} senders on node A x {window} in flight, one reader on node B, {seconds:.0f} s:")
    print(f"  committed {acked / seconds:,.0f} msg/s; received on node B {len(received) / seconds:,.0f} msg/s; lost {acked - len(received)}")
    print(report("  send on A -> message on B", received))
    for ws in writers + [reader]:
        await ws.close()


async def main() -> None:
    url_a, url_b = sys.argv[1], sys.argv[2]
    senders = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    window = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 10
    rate = float(sys.argv[6]) if len(sys.argv) > 6 else 500
    await commit_latency(url_a)
    await paced(url_a, url_b, rate, seconds)
    await cross_node(url_a, url_b, senders, window, seconds)


asyncio.run(main())
