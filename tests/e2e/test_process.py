"""The `parley` command as an operator meets it: flags, environment, errors, signals, HTTP endpoints."""

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import websockets

from conftest import BINARY, Parley


def run_parley(*args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BINARY), *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def get(url: str) -> tuple[int, dict, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_help_explains_every_flag_and_its_environment_variable():
    result = run_parley("serve", "--help")
    assert result.returncode == 0
    for flag, variable in [
        ("--host", "PARLEY_HOST"),
        ("--port", "PARLEY_PORT"),
        ("--db", "PARLEY_DB"),
        ("--max-text-bytes", "PARLEY_MAX_TEXT_BYTES"),
        ("--max-frame-bytes", "PARLEY_MAX_FRAME_BYTES"),
        ("--rate-limit", "PARLEY_RATE_LIMIT"),
        ("--allowed-origin", "PARLEY_ALLOWED_ORIGINS"),
        ("--ping-interval", "PARLEY_PING_INTERVAL"),
        ("--pong-timeout", "PARLEY_PONG_TIMEOUT"),
        ("--max-connections-per-ip", "PARLEY_MAX_CONNECTIONS_PER_IP"),
        ("--log-format", "PARLEY_LOG_FORMAT"),
        ("--outbox-bytes", "PARLEY_OUTBOX_BYTES"),
        ("--node-timeout", "PARLEY_NODE_TIMEOUT"),
        ("--public-host", "PARLEY_PUBLIC_HOSTS"),
        ("--address-rate-limit", "PARLEY_ADDRESS_RATE_LIMIT"),
        ("--address-text-rate", "PARLEY_ADDRESS_TEXT_RATE"),
        ("--max-joined-rooms", "PARLEY_MAX_JOINED_ROOMS"),
        ("--max-connections", "PARLEY_MAX_CONNECTIONS"),
        ("--request-timeout", "PARLEY_REQUEST_TIMEOUT"),
        ("--idle-timeout", "PARLEY_IDLE_TIMEOUT"),
        ("--max-header-bytes", "PARLEY_MAX_HEADER_BYTES"),
        ("--user-rate-limit", "PARLEY_USER_RATE_LIMIT"),
        ("--user-text-rate", "PARLEY_USER_TEXT_RATE"),
        ("--guests", "PARLEY_GUESTS"),
        ("--registration", "PARLEY_REGISTRATION"),
        ("--session-days", "PARLEY_SESSION_DAYS"),
        ("--password-cost", "PARLEY_PASSWORD_COST"),
        ("--jwt-key", "PARLEY_JWT_KEYS"),
        ("--jwt-issuer", "PARLEY_JWT_ISSUER"),
        ("--jwt-audience", "PARLEY_JWT_AUDIENCE"),
        ("--tls-cert", "PARLEY_TLS_CERT"),
        ("--tls-key", "PARLEY_TLS_KEY"),
    ]:
        assert flag in result.stdout and variable in result.stdout, flag


@pytest.mark.parametrize(
    "args, env, named",
    [
        (["--port", "70000"], {}, "--port"),
        (["--rate-limit", "fast"], {}, "--rate-limit"),
        (["--max-text-bytes", "0"], {}, "--max-text-bytes"),
        (["--log-level", "loud"], {}, "--log-level"),
        (["--log-format", "xml"], {}, "--log-format"),
        ([], {"PARLEY_PONG_TIMEOUT": "0"}, "PARLEY_PONG_TIMEOUT"),
        ([], {"PARLEY_PORT": "eighty"}, "PARLEY_PORT"),
        ([], {"PARLEY_RATE_LIMIT": "1:"}, "--rate-limit"),
        (["--db", "postgres://localhost:5432/parley"], {}, "--db"),
        (["--db", "postgres://user@localhost:5432/parley?sslmode=maybe"], {}, "--db"),
        (["--db", "postgresql://user@localhost:5432/"], {}, "--db"),
        (["--node-timeout", "1"], {}, "--node-timeout"),
        (["--port"], {}, "--port"),
        (["--address-rate-limit", "lots"], {}, "--address-rate-limit"),
        (["--address-text-rate", "5"], {}, "--address-text-rate"),
        (["--public-host", "http://chat.example.com/"], {}, "--public-host"),
        (["--request-timeout", "0"], {}, "--request-timeout"),
        (["--max-header-bytes", "10"], {}, "--max-header-bytes"),
        (["--max-joined-rooms", "0"], {}, "--max-joined-rooms"),
        (["--user-rate-limit", "1"], {}, "--user-rate-limit"),
        ([], {"PARLEY_USER_TEXT_RATE": "fast:1"}, "--user-text-rate"),
        (["--guests", "maybe"], {}, "--guests"),
        ([], {"PARLEY_REGISTRATION": "invite"}, "--registration"),
        (["--session-days", "0"], {}, "--session-days"),
        (["--password-cost", "3"], {}, "--password-cost"),
        (["--password-cost", "17"], {}, "--password-cost"),
    ],
)
def test_a_bad_setting_exits_non_zero_naming_it(args, env, named, tmp_path):
    result = run_parley("serve", "--db", str(tmp_path / "x.sqlite"), *args, env=env)
    assert result.returncode != 0
    assert named in result.stderr, result.stderr


def test_a_database_that_cannot_be_opened_ends_serve_at_once_naming_it(tmp_path):
    path = tmp_path / "missing-folder" / "parley.sqlite"
    started = time.monotonic()
    result = run_parley("serve", "--port", "0", "--db", str(path))
    assert result.returncode != 0
    assert str(path) in result.stderr
    assert time.monotonic() - started < 30


def test_environment_variables_configure_serve(start_parley):
    node = start_parley(env={"PARLEY_MAX_TEXT_BYTES": "5", "PARLEY_RATE_LIMIT": "0"})

    async def scenario():
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as client:
            await client.send(json.dumps({"type": "hello", "name": "Ana"}))
            welcome = json.loads(await client.recv())
            assert welcome["limits"]["maxTextBytes"] == 5
            assert welcome["limits"]["commandsPerSecond"] == 0

    asyncio.run(scenario())


def test_health_readiness_and_a_plain_get_on_ws(parley):
    assert get(parley.http_url + "/healthz")[::2] == (200, {"status": "ok"})
    status, headers, body = get(parley.http_url + "/readyz")
    assert (status, body) == (200, {"status": "ready"})
    assert headers["Content-Type"].startswith("application/json")
    status, _, body = get(parley.http_url + "/ws")
    assert status == 426 and "WebSocket" in body["error"]


def test_sigterm_closes_clients_with_1001_and_exits_0(parley):
    async def scenario():
        async with websockets.connect(parley.ws_url, subprotocols=["parley.v1"]) as modern, websockets.connect(
            parley.ws_url
        ) as plain:
            parley.process.send_signal(signal.SIGTERM)
            for client in (modern, plain):
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        await asyncio.wait_for(client.recv(), 10)
                assert closed.value.rcvd.code == 1001

    asyncio.run(scenario())
    assert parley.process.wait(timeout=30) == 0


def test_sigint_also_drains_and_exits_0(parley):
    assert parley.stop(signal.SIGINT) == 0


def test_origins_on_other_hosts_are_refused_with_1008_and_logged(start_parley):
    node = start_parley("--allowed-origin", "https://chat.example.com")

    async def outcome(origin):
        async with websockets.connect(node.ws_url, origin=origin, subprotocols=["parley.v1"]) as client:
            try:
                # A refused client may be closed before its first frame goes out: sending can fail too.
                await client.send(json.dumps({"type": "ping"}))
                reply = json.loads(await asyncio.wait_for(client.recv(), 5))
                return reply["type"]
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code

    async def scenario():
        assert await outcome(None) == "error"  # no Origin: not a browser, accepted (hello_required)
        assert await outcome(f"http://127.0.0.1:{node.port}") == "error"
        assert await outcome("http://127.0.0.1:3000") == "error"  # same host, another port
        assert await outcome("https://chat.example.com") == "error"
        assert await outcome("https://evil.example") == 1008
        assert await outcome("null") == 1008

    asyncio.run(scenario())
    assert "https://evil.example" in node.stderr()
