"""What an idle client costs the server: N Server-Sent Events streams against N parley.v1 WebSockets, each joined
to one room and then silent, measured as the server's resident memory per client (its growth over the baseline,
divided by N). Each transport runs against a fresh server; the clients are raw sockets (one process, no library
per connection) so the client side stays light. Usage:

    swift build -c release --product parley
    python benchmarks/idle_streams.py [.build/release/parley] [CLIENTS] [ROUNDS]
"""

import base64
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def start_server(binary: str, folder: str) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [binary, "serve", "--port", "0", "--db", os.path.join(folder, "parley.sqlite"), "--rate-limit", "0",
         "--max-connections-per-ip", "0", "--password-cost", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    for line in process.stdout:
        match = re.search(r"listening on http://[^\s]+:(\d+)", line)
        if match:
            return process, int(match.group(1))
    raise RuntimeError("parley did not start")


def token(port: int) -> str:
    def post(path: str, body: dict) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read())

    post("/api/v1/accounts", {"user": "idle", "password": "idle streams 2026"})
    return post("/api/v1/login", {"user": "idle", "password": "idle streams 2026"})["token"]


def read_until(sock: socket.socket, marker: bytes, deadline: float) -> None:
    received = b""
    while marker not in received:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {marker!r}")
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        received += chunk


def open_stream(port: int, bearer: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"GET /api/v1/events?rooms=idle HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                 f"Authorization: Bearer {bearer}\r\n\r\n".encode())
    read_until(sock, b"event: joined", time.monotonic() + 30)
    return sock


def masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81, 0x80 | len(payload)]) if len(payload) < 126 else bytes([0x81, 0xFE]) + len(payload).to_bytes(2, "big")
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def open_websocket(port: int, bearer: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: parley.v1\r\n"
                 f"Authorization: Bearer {bearer}\r\n\r\n".encode())
    sock.sendall(masked_text_frame('{"type":"hello"}') + masked_text_frame('{"type":"join","room":"idle"}'))
    read_until(sock, b'"type":"joined"', time.monotonic() + 30)
    return sock


def measure(binary: str, clients: int, opener) -> float:
    with tempfile.TemporaryDirectory() as folder:
        process, port = start_server(binary, folder)
        try:
            bearer = token(port)
            time.sleep(1)
            baseline = rss_kib(process.pid)
            sockets = [opener(port, bearer) for _ in range(clients)]
            time.sleep(3)
            per_client = (rss_kib(process.pid) - baseline) * 1024 / clients
            for sock in sockets:
                sock.close()
            return per_client
        finally:
            process.terminate()
            process.wait(timeout=60)


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/parley"
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results: dict[str, list[float]] = {"event stream": [], "WebSocket": []}
    for _ in range(rounds):
        results["event stream"].append(measure(binary, clients, open_stream))
        results["WebSocket"].append(measure(binary, clients, open_websocket))
    for name, values in results.items():
        print(f"{clients:,} idle {name} clients: {', '.join(f'{v:,.0f}' for v in values)} bytes per client")


if __name__ == "__main__":
    main()
