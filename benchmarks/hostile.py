"""Every attack of issue 12 at once, from one address, beside one honest client on another: what the honest client's
acks cost and how much memory the server holds.

Starts `parley serve` itself (default limits, a fresh SQLite file) and, in a second process, runs for DURATION
seconds from 127.0.0.1:
  - ping floods: connections sending 125-byte pings without reading;
  - fat names: hellos with a letter under 30,000 combining accents, and clients asking for history pages of texts
    that JSON escapes six-fold without reading the replies;
  - forged pongs: connections that answer no ping but sent an unsolicited pong;
  - before the upgrade: silent connections, connections trickling one header byte a second (about 240 connections
    held in all, near the per-address cap of 256, so every other defence is reached too), 100 KB headers,
    method FOO, garbage bytes, DNS-rebinding Host names, POST /ws and upgrades with bad keys;
  - limits multiplied by connections: joiners cycling through rooms on many connections, writers storing 16 KB
    texts on many connections;
  - refused origins carrying 10 KB of bidirectional overrides (log flooding);
  - commands with duplicate keys.
The honest client connects from 127.0.0.2 (its own address, as a real user would have), sends a message every
200 ms and times each ack. Printed: its ack latency percentiles, what the attackers got through, and the server's
peak RSS and CPU. Usage:

    swift build -c release --product parley
    python benchmarks/hostile.py [.build/release/parley] [DURATION]
"""

import asyncio
import base64
import json
import multiprocessing
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time

import websockets

HONEST_ADDRESS = "127.0.0.2"


def frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    key = os.urandom(4)
    return header + key + bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))


def text(payload: str) -> bytes:
    return frame(0x1, payload.encode())


def handshake(port: int, host: str | None = None, origin: bytes | None = None, method: str = "GET",
              key: str | None = None) -> bytes:
    lines = [
        f"{method} /ws HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}", "Upgrade: websocket", "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key or base64.b64encode(os.urandom(16)).decode()}", "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: parley.v1",
    ]
    raw = ("\r\n".join(lines) + "\r\n").encode()
    if origin:
        raw += b"Origin: " + origin + b"\r\n"
    return raw + b"\r\n"


class Tally:
    def __init__(self):
        self.counts: dict[str, int] = {}

    def add(self, what: str, count: int = 1):
        self.counts[what] = self.counts.get(what, 0) + count


async def open_raw(port: int, tally: Tally, request: bytes | None = None, receive_buffer: int | None = None):
    """A connection from 127.0.0.1; with `request`, sent at once and the 101 awaited. None if refused."""
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, receive_buffer)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        if request is not None:
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            if not head.startswith(b"HTTP/1.1 101"):
                tally.add(f"upgrade answered {head[9:12].decode()}")
                writer.close()
                return None
        return reader, writer
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        tally.add("connection failed")
        sock.close()
        return None


async def ping_flood(port: int, stop: float, tally: Tally):
    while time.monotonic() < stop:
        raw = await open_raw(port, tally, handshake(port), receive_buffer=4096)
        if not raw:
            await asyncio.sleep(0.5)
            continue
        _, writer = raw
        ping = frame(0x9, b"p" * 125) * 32
        try:
            while time.monotonic() < stop:
                writer.write(ping)
                tally.add("pings sent", 32)
                await asyncio.wait_for(writer.drain(), 1)
        except (OSError, asyncio.TimeoutError):
            tally.add("ping flooder held back by TCP")
        writer.close()


async def fat_names(port: int, stop: float, tally: Tally):
    fat = "a" + "\u0301" * 30_000
    while time.monotonic() < stop:
        raw = await open_raw(port, tally, handshake(port))
        if raw:
            reader, writer = raw
            writer.write(text(json.dumps({"type": "hello", "name": fat}, ensure_ascii=False)))
            try:
                reply = await asyncio.wait_for(reader.read(4096), 5)
                if b"invalid_name" in reply:
                    tally.add("fat name refused")
                elif b'"welcome"' in reply:
                    tally.add("fat name accepted")
                else:
                    tally.add("fat name: connection ended first")
            except (OSError, asyncio.TimeoutError):
                tally.add("fat name: no answer")
            writer.close()
        await asyncio.sleep(0.05)


async def history_hoarder(port: int, stop: float, tally: Tally, number: int):
    raw = await open_raw(port, tally, handshake(port), receive_buffer=4096)
    if not raw:
        return
    _, writer = raw
    writer.write(text(json.dumps({"type": "hello", "name": f"hoarder{number}"})))
    escaped = "\u0001" * 10_000
    if number == 0:
        writer.write(text(json.dumps({"type": "join", "room": "escapes"})))
        for index in range(40):
            writer.write(text(json.dumps({"type": "send", "room": "escapes", "text": escaped, "id": str(index)})))
    try:
        while time.monotonic() < stop:
            writer.write(text(json.dumps({"type": "history", "room": "escapes", "limit": 200})))
            tally.add("history asked, never read")
            await asyncio.wait_for(writer.drain(), 2)
            await asyncio.sleep(0.05)
    except (OSError, asyncio.TimeoutError):
        tally.add("hoarder held back by TCP")
    writer.close()


async def forged_pong(port: int, stop: float, tally: Tally):
    while time.monotonic() < stop:
        raw = await open_raw(port, tally, handshake(port))
        if not raw:
            await asyncio.sleep(1)
            continue
        reader, writer = raw
        writer.write(frame(0xA, b"\xff" * 8))
        opened = time.monotonic()
        try:
            while await reader.read(4096):
                pass
            lasted = time.monotonic() - opened
            tally.add("forged-pong connections dropped within 36 s" if lasted <= 36 else "forged-pong connections kept past 36 s")
        except OSError:
            pass
        writer.close()


async def silent(port: int, stop: float, tally: Tally, trickle: bool):
    while time.monotonic() < stop:
        raw = await open_raw(port, tally)
        if not raw:
            await asyncio.sleep(1)
            continue
        reader, writer = raw
        opened = time.monotonic()
        try:
            if trickle:
                writer.write(b"GET / HTTP/1.1\r\n")
            while time.monotonic() < stop:
                if trickle:
                    writer.write(b"X")
                data = await asyncio.wait_for(reader.read(4096), 1)
                if not data:
                    break
                if data.startswith(b"HTTP/1.1 408"):
                    tally.add("held connections answered 408")
                if data.startswith(b"HTTP/1.1 429"):
                    tally.add("held connections refused 429")
                    await asyncio.sleep(0.5)
                    break
        except asyncio.TimeoutError:
            pass
        except OSError:
            pass
        lasted = time.monotonic() - opened
        if time.monotonic() < stop and lasted > 1:
            tally.add("held connections closed within 11 s" if lasted <= 11 else "held connections closed after 11 s")
        writer.close()


async def bad_requests(port: int, stop: float, tally: Tally):
    requests = [
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
        b"FOO / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        os.urandom(512),
        f"GET /healthz HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n".encode(),
        handshake(port, host=f"evil.example:{port}", origin=f"http://evil.example:{port}".encode()),
        handshake(port, method="POST"),
        handshake(port, key="c2hvcnQ="),
    ]
    while time.monotonic() < stop:
        for request in requests:
            raw = await open_raw(port, tally)
            if not raw:
                continue
            reader, writer = raw
            try:
                writer.write(request)
                answer = await asyncio.wait_for(reader.read(64), 5)
                tally.add(f"bad request answered {answer[9:12].decode(errors='replace') or 'nothing'}")
            except (OSError, asyncio.TimeoutError):
                tally.add("bad request: no answer")
            writer.close()
        await asyncio.sleep(0.05)


async def refused_origins(port: int, stop: float, tally: Tally):
    origin = ("http://\u202e" + "\u202e" * 3000).encode()
    while time.monotonic() < stop:
        raw = await open_raw(port, tally, handshake(port, origin=origin))
        if raw:
            tally.add("refused origins")
            raw[1].close()
        await asyncio.sleep(0.02)


async def command_flood(port: int, stop: float, tally: Tally, setup: list[dict], commands, counted: dict[str, bytes]):
    """A parley.v1 connection that sends `setup`, then `commands(number)` every 10 ms until `stop`, counting the
    replies that contain each of `counted`'s byte strings."""
    raw = await open_raw(port, tally, handshake(port))
    if not raw:
        return
    reader, writer = raw

    async def drain():
        while data := await reader.read(65536):
            for what, marker in counted.items():
                tally.add(what, data.count(marker))

    draining = asyncio.create_task(drain())
    for command in setup:
        writer.write(text(json.dumps(command)))
    number = 0
    try:
        while time.monotonic() < stop:
            number += 1
            for command in commands(number):
                writer.write(text(command))
            await asyncio.wait_for(writer.drain(), 2)
            await asyncio.sleep(0.01)
    except (OSError, asyncio.TimeoutError):
        pass
    draining.cancel()
    writer.close()


def joiner(port: int, stop: float, tally: Tally, number: int):
    """Cycles through 300 rooms, with a command carrying a key twice after each join."""
    return command_flood(
        port, stop, tally, [{"type": "hello", "name": f"joiner{number}"}],
        lambda index: [json.dumps({"type": "join", "room": f"r{number}-{index % 300}"}), '{"type":"ping","ref":"a","ref":"b"}'],
        {"joiner rate limited": b"rate_limited", "joins answered": b'"type":"joined"'},
    )


def writer_flood(port: int, stop: float, tally: Tally, number: int):
    """Stores 16 KB texts as fast as it is let."""
    big = "w" * 16_000
    return command_flood(
        port, stop, tally, [{"type": "hello", "name": f"writer{number}"}, {"type": "join", "room": "bulk"}],
        lambda index: [json.dumps({"type": "send", "room": "bulk", "text": big, "id": f"{number}-{index}"})],
        {"texts stored": b'"type":"ack"', "texts refused": b"rate_limited"},
    )


async def attack(port: int, duration: float) -> dict[str, int]:
    stop = time.monotonic() + duration
    tally = Tally()
    tasks = (
        [ping_flood(port, stop, tally) for _ in range(4)]
        + [fat_names(port, stop, tally) for _ in range(2)]
        + [history_hoarder(port, stop, tally, number) for number in range(10)]
        + [forged_pong(port, stop, tally) for _ in range(20)]
        + [silent(port, stop, tally, trickle=False) for _ in range(60)]
        + [silent(port, stop, tally, trickle=True) for _ in range(60)]
        + [bad_requests(port, stop, tally) for _ in range(2)]
        + [refused_origins(port, stop, tally)]
        + [joiner(port, stop, tally, number) for number in range(60)]
        + [writer_flood(port, stop, tally, number) for number in range(20)]
    )
    running = [asyncio.ensure_future(task) for task in tasks]
    # Against a server that never closes what it should, some attackers would wait forever: stop them all.
    _, pending = await asyncio.wait(running, timeout=duration + 5)
    for task in pending:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    return tally.counts


def run_attack(port: int, duration: float, results) -> None:
    results.update(asyncio.run(attack(port, duration)))


async def honest(url: str, duration: float) -> tuple[list[float], int, int]:
    sock = socket.socket()
    sock.bind((HONEST_ADDRESS, 0))
    sock.connect(("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])))
    latencies, errors, delivered = [], 0, 0
    async with websockets.connect(url, sock=sock, subprotocols=["parley.v1"]) as ws:
        await ws.send(json.dumps({"type": "hello", "name": "honest"}))
        await ws.send(json.dumps({"type": "join", "room": "honest"}))
        stop = time.monotonic() + duration
        number = 0
        while time.monotonic() < stop:
            number += 1
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "send", "room": "honest", "text": f"still here {number}", "id": str(number)}))
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if event["type"] == "message" and event["room"] == "honest":
                    delivered += 1
                if event["type"] == "ack":
                    latencies.append(time.perf_counter() - started)
                    break
                if event["type"] == "error":
                    errors += 1
                    break
            await asyncio.sleep(0.2)
    return sorted(latencies), errors, delivered


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/parley"
    duration = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    folder = tempfile.mkdtemp(prefix="parley-hostile-")
    server = subprocess.Popen(
        [binary, "serve", "--port", "0", "--db", os.path.join(folder, "hostile.sqlite")],
        stdout=subprocess.PIPE, stderr=open(os.path.join(folder, "server.log"), "wb"), text=True,
    )
    try:
        port = int(re.search(r"listening on http://[^:]+:(\d+)", server.stdout.readline()).group(1))
        url = f"ws://127.0.0.1:{port}/ws"
        with multiprocessing.Manager() as manager:
            results = manager.dict()
            attacker = multiprocessing.Process(target=run_attack, args=(port, duration, results))
            started_rss, started_cpu = rss_mib(server.pid), cpu_seconds(server.pid)
            attacker.start()
            time.sleep(2)  # let the attack get going before the honest client's first message
            peak = [started_rss]

            async def sample():
                while True:
                    peak[0] = max(peak[0], rss_mib(server.pid))
                    await asyncio.sleep(0.5)

            async def measured():
                sampler = asyncio.create_task(sample())
                outcome = await honest(url, duration - 4)
                sampler.cancel()
                return outcome

            latencies, errors, delivered = asyncio.run(measured())
            attacker.join(duration + 60)
            cpu = cpu_seconds(server.pid) - started_cpu
            counts = dict(results)

        def at(percentile: float) -> float:
            return latencies[min(len(latencies) - 1, int(percentile / 100 * len(latencies)))] * 1000

        print(f"hostile run: {duration:.0f} s of attacks from 127.0.0.1, one honest client on {HONEST_ADDRESS}")
        print(f"honest client: {len(latencies)} acks, {errors} errors, {delivered} own messages delivered; ack latency "
              f"p50 {at(50):.1f} ms, p99 {at(99):.1f} ms, max {latencies[-1] * 1000:.1f} ms")
        print(f"server: RSS {started_rss:.0f} MiB at start, peak {peak[0]:.0f} MiB; CPU {cpu:.1f} s "
              f"({100 * cpu / duration:.0f}% of a core)")
        print("attackers:")
        for what, count in sorted(counts.items()):
            print(f"  {what}: {count}")
        lines = open(os.path.join(folder, "server.log"), errors="replace").read().splitlines()
        longest = max(lines, key=len, default="")
        print(f"server log: {len(lines)} lines; the longest ({len(longest)} characters): {longest[:200]}")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
