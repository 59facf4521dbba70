"""Helpers for the identity tests: the account API over HTTP, and parley.v1 clients that authenticate."""

import json
import subprocess
import urllib.error
import urllib.request

import websockets

from conftest import BINARY

# bcrypt at its minimum work factor: the tests are about behaviour, not about the cost of a hash.
FAST_PASSWORDS = ("--password-cost", "4")


class Reply:
    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.raw = body
        self.body = json.loads(body) if body else None

    @property
    def code(self) -> str | None:
        return (self.body or {}).get("error", {}).get("code")


def call(node, method: str, path: str, body=None, headers: dict | None = None, raw: bytes | None = None) -> Reply:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    all_headers = {"Content-Type": "application/json"} if data is not None else {}
    all_headers.update(headers or {})
    request = urllib.request.Request(node.http_url + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def register(node, user: str, password: str = "correct horse battery", name: str | None = None) -> Reply:
    body = {"user": user, "password": password}
    if name is not None:
        body["name"] = name
    return call(node, "POST", "/api/v1/accounts", body)


def login(node, user: str, password: str = "correct horse battery") -> Reply:
    return call(node, "POST", "/api/v1/login", {"user": user, "password": password})


def token_for(node, user: str, password: str = "correct horse battery", name: str | None = None) -> str:
    """Registers `user` (if new) and signs in; returns the session token."""
    register(node, user, password, name)
    reply = login(node, user, password)
    assert reply.status == 200, reply.body
    return reply.body["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def parley(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BINARY), *args], input=stdin, capture_output=True, text=True, timeout=60)


async def connect(url: str, headers: dict | None = None, subprotocol: bool = True):
    return await websockets.connect(url, subprotocols=["parley.v1"] if subprotocol else None, additional_headers=headers or {})


async def hello(ws, name: str | None = "someone", token: str | None = None, ref: str = "hello") -> dict:
    """Sends `hello` (without a `name` field when `name` is None) and returns its reply."""
    command = {"type": "hello", "ref": ref}
    if name is not None:
        command["name"] = name
    if token is not None:
        command["token"] = token
    await ws.send(json.dumps(command))
    return await reply_to(ws, ref)


async def reply_to(ws, ref: str) -> dict:
    while True:
        event = json.loads(await ws.recv())
        if event.get("ref") == ref:
            return event


async def close_code(ws, timeout: float = 10) -> int | None:
    """Reads until the server closes; its close code."""
    import asyncio

    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
