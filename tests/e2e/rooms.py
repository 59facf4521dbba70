"""A parley.v1 client for the rooms and moderation tests: commands with refs, replies by ref, events by type."""

import asyncio
import itertools
import json
import socket

import websockets

from identity import login, parley, register

PASSWORD = "correct horse battery"


class Client:
    """One connection: `call` sends a command and returns its reply; `next` waits for an event of a type."""

    _refs = itertools.count(1)

    def __init__(self, ws, user: dict):
        self.ws = ws
        self.user = user
        self.events: list[dict] = []

    @classmethod
    async def connect(cls, node, *, token: str | None = None, guest: str | None = None,
                      receive_buffer: int | None = None) -> "Client":
        """`receive_buffer` shrinks the socket's receive buffer (and the library's queue) so that what the client
        does not read stays in the server's outbox instead of in kernel buffers."""
        if receive_buffer is None:
            ws = await websockets.connect(node.ws_url, subprotocols=["parley.v1"], max_size=None)
        else:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.connect(("127.0.0.1", node.port))
            ws = await websockets.connect(node.ws_url, subprotocols=["parley.v1"], max_size=None, sock=sock,
                                          max_queue=1)
        hello = {"type": "hello", "ref": "hello"}
        if token is not None:
            hello["token"] = token
        else:
            hello["name"] = guest
        await ws.send(json.dumps(hello))
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if event.get("ref") == "hello":
                assert event["type"] == "welcome", event
                return cls(ws, event["user"])

    async def call(self, type: str, **fields) -> dict:
        """Sends a command and returns its reply (the first frame carrying its ref); other frames are kept."""
        ref = f"r{next(self._refs)}"
        await self.ws.send(json.dumps({"type": type, "ref": ref, **fields}))
        while True:
            event = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if event.get("ref") == ref:
                return event
            self.events.append(event)

    async def next(self, type: str, timeout: float = 10, **matching) -> dict:
        """The next event of `type` (with the given fields), kept or still to come."""
        for index, event in enumerate(self.events):
            if event["type"] == type and all(event.get(k) == v for k, v in matching.items()):
                return self.events.pop(index)
        while True:
            event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if event["type"] == type and all(event.get(k) == v for k, v in matching.items()):
                return event
            self.events.append(event)

    async def next_any(self, timeout: float = 10) -> dict:
        """The next event, kept or still to come."""
        if self.events:
            return self.events.pop(0)
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def nothing_of(self, room: str, seconds: float = 0.5) -> list[dict]:
        """What arrives within `seconds` that belongs to `room` (expected to be nothing)."""
        arrived = [e for e in self.events if e.get("room") == room]
        try:
            while True:
                event = json.loads(await asyncio.wait_for(self.ws.recv(), seconds))
                if event.get("room") == room:
                    arrived.append(event)
        except asyncio.TimeoutError:
            return arrived

    async def close_code(self, timeout: float = 10) -> int | None:
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    async def close(self):
        await self.ws.close()


def account(node, user: str, name: str | None = None) -> str:
    """Registers `user` and signs in: the session token."""
    register(node, user, PASSWORD, name)
    reply = login(node, user, PASSWORD)
    assert reply.status == 200, reply.body
    return reply.body["token"]


def admin_account(node, user: str = "root") -> str:
    """An admin made with `parley users add --admin` on the node's database, signed in."""
    added = parley("users", "add", user, "--admin", "--password-stdin", "--db", str(node.db), stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    reply = login(node, user, PASSWORD)
    assert reply.status == 200, reply.body
    return reply.body["token"]
