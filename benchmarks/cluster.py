"""Two Parley nodes on one PostgreSQL: commit latency, and the latency of a message from one node to the other.

    python benchmarks/cluster.py ws://127.0.0.1:8001/ws ws://127.0.0.1:8002/ws [SECONDS] [RATE]

1. Commit latency: one client on node A sends one message at a time; each ack means committed in PostgreSQL
   (and the NOTIFY sent). Prints ack latency percentiles and messages/s.
2. Cross-node latency at a steady pace: one client on node A sends RATE messages/s (open loop) for SECONDS;
   a reader on node B reports the latency from each message's scheduled send time to its receipt.

Throughput is parley-bench's part (--reader-url): a Python client cannot send and read fast enough.
Start the nodes with --rate-limit 0. benchmarks/cluster.sh does all of it.
"""

import asyncio
import json
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


async def main() -> None:
    url_a, url_b = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 10
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 500
    await commit_latency(url_a)
    await paced(url_a, url_b, rate, seconds)


asyncio.run(main())
