"""What a storm of sign-ins costs everyone else: a bystander's ack latency while 50 people sign in at once.

bcrypt is slow on purpose (work factor 12 by default); Parley hashes on a thread of its own, never on an event loop,
so a login storm queues sign-ins without delaying other clients' messages. Starts `parley serve` itself (default
limits and work factor, a fresh SQLite file), creates the accounts, then times a bystander's acks (a message every
100 ms) alone and during the storm. Usage:

    swift build -c release --product parley
    python benchmarks/login_storm.py [.build/release/parley] [LOGINS]
"""

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import websockets

PASSWORD = "storm password 2026"


def post(base: str, path: str, body: dict) -> tuple[int, float]:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


async def bystander(url: str, seconds: float) -> list[float]:
    latencies = []
    async with websockets.connect(url, subprotocols=["parley.v1"]) as ws:
        await ws.send(json.dumps({"type": "hello", "name": "bystander"}))
        await ws.send(json.dumps({"type": "join", "room": "quiet"}))
        stop = time.monotonic() + seconds
        number = 0
        while time.monotonic() < stop:
            number += 1
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "send", "room": "quiet", "text": "still here", "id": f"{time.time()}-{number}"}))
            while json.loads(await ws.recv())["type"] != "ack":
                pass
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.1)
    return sorted(latencies)


def describe(label: str, latencies: list[float]) -> str:
    def at(percentile: float) -> float:
        return latencies[min(len(latencies) - 1, int(percentile / 100 * len(latencies)))] * 1000

    return f"{label}: {len(latencies)} acks, p50 {at(50):.1f} ms, p99 {at(99):.1f} ms, max {latencies[-1] * 1000:.1f} ms"


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/parley"
    logins = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    folder = tempfile.mkdtemp(prefix="parley-logins-")
    server = subprocess.Popen(
        [binary, "serve", "--port", "0", "--db", os.path.join(folder, "storm.sqlite"), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        port = int(re.search(r"listening on http://[^:]+:(\d+)", server.stdout.readline()).group(1))
        base, url = f"http://127.0.0.1:{port}/api/v1", f"ws://127.0.0.1:{port}/ws"
        with ThreadPoolExecutor(max_workers=logins) as pool:
            created = list(pool.map(lambda n: post(base, "/accounts", {"user": f"person{n}", "password": PASSWORD}), range(logins)))
        assert all(status == 201 for status, _ in created), created
        alone = asyncio.run(bystander(url, 5))

        async def during() -> tuple[list[float], list[tuple[int, float]], float]:
            loop = asyncio.get_running_loop()
            watching = asyncio.create_task(bystander(url, 15))
            await asyncio.sleep(1)
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=logins) as pool:
                storm = await asyncio.gather(
                    *(loop.run_in_executor(pool, post, base, "/login", {"user": f"person{n}", "password": PASSWORD}) for n in range(logins))
                )
            elapsed = time.perf_counter() - started
            return await watching, storm, elapsed

        busy, storm, elapsed = asyncio.run(during())
        assert all(status == 200 for status, _ in storm), storm
        login_times = sorted(seconds for _, seconds in storm)
        print(f"{logins} concurrent sign-ins (bcrypt work factor 12) took {elapsed:.1f} s in all; each answered in "
              f"p50 {login_times[len(login_times) // 2] * 1000:.0f} ms, max {login_times[-1] * 1000:.0f} ms")
        print(describe("bystander alone", alone))
        print(describe("bystander during the storm", busy))
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
