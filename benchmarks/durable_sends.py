"""Durable send throughput: CLIENTS connections each send MESSAGES messages, each into a room of its own (so the
figure is storage, not fan-out to the other clients), and wait for every ack.

Every ack means the message is committed to disk (SQLite, synchronous=FULL), so the rate is bounded by how many
messages share a commit. Usage (a server started with --rate-limit 0):

    python benchmarks/durable_sends.py ws://127.0.0.1:8000/ws [CLIENTS] [MESSAGES] [WINDOW]

WINDOW is how many unacknowledged sends each client keeps in flight (1 = send, wait for the ack, send again).
"""

import asyncio
import json
import statistics
import sys
import time
import uuid

import websockets


async def client(url: str, index: int, messages: int, window: int, room: str, latencies: list[float]) -> None:
    async with websockets.connect(url, subprotocols=["parley.v1"], max_size=None) as ws:
        await ws.send(json.dumps({"type": "hello", "name": f"bench-{index}"}))
        await ws.send(json.dumps({"type": "join", "room": room}))
        sent_at: dict[str, float] = {}
        in_flight = asyncio.Semaphore(window)

        async def receive() -> None:
            acked = 0
            while acked < messages:
                event = json.loads(await ws.recv())
                if event["type"] == "ack":
                    latencies.append(time.perf_counter() - sent_at.pop(event["id"]))
                    acked += 1
                    in_flight.release()
                elif event["type"] == "error":
                    raise RuntimeError(event)

        receiver = asyncio.create_task(receive())
        for number in range(messages):
            await in_flight.acquire()
            message_id = f"{index}-{number}"
            sent_at[message_id] = time.perf_counter()
            await ws.send(json.dumps({"type": "send", "room": room, "text": f"message {number} from {index}", "id": message_id}))
        await receiver


async def main() -> None:
    url = sys.argv[1]
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    messages = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    window = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    room = f"bench-{uuid.uuid4().hex[:8]}"
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(client(url, index, messages, window, f"{room}-{index}", latencies) for index in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    print(f"{clients} clients x {messages} sends, window {window}: {len(latencies)} acks in {elapsed:.2f} s "
          f"= {len(latencies) / elapsed:,.0f} durable messages/s")
    print(f"ack latency ms: p50 {percentile(50):.2f}  p90 {percentile(90):.2f}  p99 {percentile(99):.2f}  "
          f"max {latencies[-1] * 1000:.2f}  mean {statistics.fmean(latencies) * 1000:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
