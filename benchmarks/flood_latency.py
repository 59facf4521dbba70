"""How much a flooding client delays another client's acks.

A bystander sends one message at a time into its own room and times each ack, first alone, then while FLOODERS
other connections (in another process, so they do not slow the bystander's own event loop) send malformed
commands as fast as they can; the server rate limits them (default 10/s with bursts of 100) and answers
`rate_limited`. Usage, against a server with default limits:

    python benchmarks/flood_latency.py ws://127.0.0.1:8000/ws [FLOODERS] [SAMPLES]
"""

import asyncio
import json
import multiprocessing
import sys
import time
import uuid

import websockets


async def ack_latencies(url: str, samples: int) -> list[float]:
    room = f"quiet-{uuid.uuid4().hex[:8]}"
    async with websockets.connect(url, subprotocols=["parley.v1"]) as ws:
        await ws.send(json.dumps({"type": "hello", "name": f"bystander-{room}"}))
        await ws.send(json.dumps({"type": "join", "room": room}))
        latencies = []
        for number in range(samples):
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "send", "room": room, "text": "hello", "id": str(number)}))
            while True:
                event = json.loads(await ws.recv())
                if event["type"] == "ack":
                    break
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.1)
        return sorted(latencies)


async def flood(url: str, stop: asyncio.Event) -> int:
    sent = 0
    async with websockets.connect(url, subprotocols=["parley.v1"]) as ws:

        async def drain():
            while True:
                await ws.recv()

        reader = asyncio.create_task(drain())
        while not stop.is_set():
            await ws.send('{"type": "join", "room": 42}')
            sent += 1
            if sent % 100 == 0:
                await asyncio.sleep(0)
        reader.cancel()
    return sent


def describe(label: str, latencies: list[float]) -> str:
    def at(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return f"{label}: ack p50 {at(50):.2f} ms, p90 {at(90):.2f} ms, max {latencies[-1] * 1000:.2f} ms"


def flood_process(url: str, flooders: int, seconds: float, sent: "multiprocessing.Value") -> None:
    async def run():
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        counts = await asyncio.gather(*(flood(url, stop) for _ in range(flooders)))
        sent.value = sum(counts)

    asyncio.run(run())


async def main() -> None:
    url = sys.argv[1]
    flooders = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    print(describe("alone", await ack_latencies(url, samples)))
    sent = multiprocessing.Value("q", 0)
    process = multiprocessing.Process(target=flood_process, args=(url, flooders, samples * 0.1 + 2, sent))
    process.start()
    await asyncio.sleep(1)
    during = await ack_latencies(url, samples)
    process.join()
    print(describe(f"with {flooders} flooders ({sent.value} bad commands sent)", during))


if __name__ == "__main__":
    asyncio.run(main())
