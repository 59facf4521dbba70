"""Before the upgrade: what one client can hold of the server over plain HTTP (silent and trickling connections,
huge headers, garbage, connections by the thousand, the descriptor limit), which Host names are answered, and what an
upgrade request must be."""

import asyncio
import base64
import os
import socket
import time
import urllib.error
import urllib.request

import pytest
import websockets


def request(port: int, raw: bytes, timeout: float = 10) -> bytes:
    """Sends raw bytes and reads until the server closes (or the timeout); returns what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return received


def status_of(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 "), response[:200]
    return int(response.split(b" ", 2)[1])


def upgrade_request(port: int, *, method: str = "GET", version: str = "1.1", host: str | None = None,
                    key: str | None = None, extra: str = "") -> bytes:
    lines = [f"{method} /ws HTTP/{version}"]
    if host != "":
        lines.append(f"Host: {host or f'127.0.0.1:{port}'}")
    lines += [
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key or base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
    ]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def upgrade_status(port: int, raw: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)
            if not chunk:
                break
            head += chunk
        return status_of(head)


def test_silent_and_trickling_connections_are_answered_408_and_closed(start_parley):
    node = start_parley("--request-timeout", "2", "--max-connections-per-ip", "0")
    silent = [socket.create_connection(("127.0.0.1", node.port), timeout=10) for _ in range(100)]
    trickling = [socket.create_connection(("127.0.0.1", node.port), timeout=10) for _ in range(100)]
    started = time.monotonic()
    for sock in trickling:
        sock.sendall(b"GET / HTTP/1.1\r\n")
    # One more header byte every half second never completes the request within its deadline.
    while time.monotonic() - started < 1.5:
        for sock in trickling:
            sock.sendall(b"X")
        time.sleep(0.5)
    for sock in silent + trickling:
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
        assert status_of(received) == 408 and b'"code":"bad_request"' in received
        sock.close()
    elapsed = time.monotonic() - started
    assert elapsed < 6, f"the last connection was closed after {elapsed:.1f} s"


def test_a_kept_alive_connection_is_closed_after_the_idle_timeout(start_parley):
    node = start_parley("--idle-timeout", "1")
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as sock:
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{node.port}\r\n\r\n".encode())
        started = time.monotonic()
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
        assert received.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 408" in received
        assert 0.8 < time.monotonic() - started < 4


@pytest.mark.parametrize(
    "what, raw, status",
    [
        ("a 100 KB header", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n", 431),
        ("a 20 KB request line", b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 431),
        ("200 header fields", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
        ("an unknown method", b"FOO / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
        ("bytes that are not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64), 400),
        ("an HTTP/1.1 request without Host", b"GET /healthz HTTP/1.1\r\n\r\n", 400),
        ("two Host headers", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n", 400),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_requests_that_cannot_be_served_are_answered_and_closed(parley, what, raw, status):
    started = time.monotonic()
    response = request(parley.port, raw)
    assert status_of(response) == status, what
    assert b'{"error":{"code":"' in response and b"Connection: close" in response
    assert time.monotonic() - started < 5, f"{what}: the connection was held open"


def test_an_http_1_0_request_without_host_is_served(parley):
    assert status_of(request(parley.port, b"GET /healthz HTTP/1.0\r\n\r\n")) == 200


def test_a_dns_rebinding_page_is_refused_for_http_and_websocket(start_parley):
    """A page on evil.example whose name resolves to 127.0.0.1 sends Host: evil.example:PORT (and an Origin on the
    same host, which the origin check alone would accept)."""
    node = start_parley()
    rebound = f"evil.example:{node.port}"
    response = request(node.port, f"GET /healthz HTTP/1.1\r\nHost: {rebound}\r\n\r\n".encode())
    assert status_of(response) == 403 and b"--public-host" in response
    upgrade = upgrade_request(node.port, host=rebound, extra=f"Origin: http://{rebound}\r\n")
    assert upgrade_status(node.port, upgrade) == 403
    for loopback in (f"127.0.0.1:{node.port}", f"localhost:{node.port}", f"[::1]:{node.port}", "127.0.0.1"):
        assert status_of(request(node.port, f"GET /healthz HTTP/1.1\r\nHost: {loopback}\r\nConnection: close\r\n\r\n".encode())) == 200
    assert "refused an HTTP request" in node.stderr()

    named = start_parley("--public-host", "chat.example.com")
    chat = f"chat.example.com:{named.port}"
    assert status_of(request(named.port, f"GET /healthz HTTP/1.1\r\nHost: {chat}\r\nConnection: close\r\n\r\n".encode())) == 200
    assert upgrade_status(named.port, upgrade_request(named.port, host=chat, extra=f"Origin: https://{chat}\r\n")) == 101
    assert status_of(request(named.port, f"GET /healthz HTTP/1.1\r\nHost: evil.example:{named.port}\r\n\r\n".encode())) == 403


@pytest.mark.parametrize(
    "what, options",
    [
        ("POST", {"method": "POST"}),
        ("HTTP/1.0 without Host", {"version": "1.0", "host": ""}),
        ("a key of 15 bytes", {"key": base64.b64encode(os.urandom(15)).decode()}),
        ("a key that is not base64", {"key": "not base64 at all!!!"}),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_an_upgrade_breaking_rfc_6455_is_refused_with_400(parley, what, options):
    assert upgrade_status(parley.port, upgrade_request(parley.port, **options)) == 400, what


def test_every_tcp_connection_counts_toward_the_per_address_cap(start_parley):
    node = start_parley("--max-connections-per-ip", "5")
    held = [socket.create_connection(("127.0.0.1", node.port), timeout=10) for _ in range(5)]
    # Connections are set up on the event loop they land on; let these five be counted before the next one.
    time.sleep(0.5)
    try:
        response = request(node.port, b"")
        assert status_of(response) == 429 and b"Retry-After: 10" in response

        async def refused() -> int:
            try:
                async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]):
                    return 101
            except websockets.InvalidStatus as error:
                return error.response.status_code

        assert asyncio.run(refused()) == 429
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    assert status_of(request(node.port, f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())) == 200
    assert "refused a connection over the per-address limit" in node.stderr()


def cpu_ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_at_the_descriptor_limit_the_server_sheds_connections_logs_and_serves_again(start_parley):
    """Under `prlimit --nofile=128`, 300 idle connections: the server holds what it can below the limit and closes
    the rest at once (instead of failing every accept in a loop that takes a core), says so, and serves new clients
    once the idle ones time out."""
    node = start_parley(
        "--max-connections-per-ip", "0", "--request-timeout", "2", prefix=("prlimit", "--nofile=96:128", "--")
    )
    assert "open file limit raised to the hard limit" in node.stderr() and "now=128" in node.stderr()
    idle = [socket.create_connection(("127.0.0.1", node.port), timeout=10) for _ in range(300)]
    time.sleep(0.5)
    before = cpu_ticks(node.process.pid)
    time.sleep(1)
    busy = cpu_ticks(node.process.pid) - before
    assert busy < 30, f"the server used {busy} ticks of 10 ms in one second while full"
    started = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(node.http_url + "/healthz", timeout=5) as response:
                assert response.status == 200
                break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() - started < 15, "/healthz was not served again once the idle connections timed out"
            time.sleep(0.2)
    for sock in idle:
        sock.close()
    assert "connection limit reached" in node.stderr()


def test_the_open_file_limit_is_reported_at_start(parley):
    assert "open file limit raised to the hard limit" in parley.stderr() or "could not raise" in parley.stderr()


def test_web_root_serves_only_regular_files_inside_it_with_the_security_headers(start_parley, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>custom</p>")
    (site / "a.txt").write_text("plain")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the root")
    (site / "escape.txt").symlink_to(secret)
    (site / "sub").mkdir()
    node = start_parley("--web-root", str(site))

    def fetch(path: str):
        try:
            with urllib.request.urlopen(node.http_url + path, timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    status, headers, body = fetch("/")
    assert (status, body) == (200, b"<p>custom</p>")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    status, headers, body = fetch("/a.txt")
    assert (status, body) == (200, b"plain") and headers["Content-Type"] == "text/plain; charset=utf-8"
    for path in ("/escape.txt", "/a.txt%00.html", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/sub", "/a.txt%5c"):
        status, headers, body = fetch(path)
        assert status == 404, path
        assert b"outside the root" not in body and headers.get("Content-Type", "").find("text/html") == -1, path
