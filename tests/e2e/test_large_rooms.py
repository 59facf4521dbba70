"""Large rooms (shared/contracts/large-rooms.md) with a small --presence-list-limit: the switch across the limit in
both directions, counts at most once a second, paging the members, typing only to the recently active."""

import asyncio
import json
import time

import pytest
import websockets

LIMIT = 3


class Guest:
    """A parley.v1 guest that keeps every frame it receives, with the time it arrived."""

    def __init__(self, ws, name: str):
        self.ws, self.name, self.frames = ws, name, []

    @classmethod
    async def join(cls, url: str, name: str, room: str = "hall") -> "Guest":
        ws = await websockets.connect(url, subprotocols=["parley.v1"], max_size=None)
        guest = cls(ws, name)
        await ws.send(json.dumps({"type": "hello", "name": name}))
        await guest.wait_for(lambda e: e["type"] == "welcome")
        await ws.send(json.dumps({"type": "join", "room": room, "ref": "j"}))
        guest.joined = await guest.wait_for(lambda e: e["type"] == "joined")
        return guest

    async def wait_for(self, matches, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            event = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.01, deadline - time.monotonic())))
            self.frames.append((time.monotonic(), event))
            if matches(event):
                return event

    async def listen(self, seconds: float) -> list[dict]:
        """Every frame that arrives within `seconds`."""
        got = []
        try:
            while True:
                got.append(await self.wait_for(lambda e: True, timeout=seconds))
        except asyncio.TimeoutError:
            return got

    async def call(self, **command) -> dict:
        await self.ws.send(json.dumps({**command, "ref": "c"}))
        return await self.wait_for(lambda e: e.get("ref") == "c")

    async def close(self):
        await self.ws.close()


def presence(frames: list[dict]) -> list[dict]:
    return [frame for frame in frames if frame["type"] == "presence"]


def test_a_room_past_the_limit_switches_to_counts_and_back(start_parley):
    node = start_parley("--presence-list-limit", str(LIMIT), "--rate-limit", "0")

    async def scenario():
        ana = await Guest.join(node.ws_url, "ana")
        small = [await Guest.join(node.ws_url, name) for name in ("bea", "cid")]
        assert "memberCount" not in small[-1].joined and len(small[-1].joined["users"]) == 3
        assert [(e["event"], e["user"]) for e in presence(await ana.listen(0.5))] == [("join", "bea"), ("join", "cid")]

        # Past the limit: a page and a count in joined, no frame per join, one count at most each second.
        big = [await Guest.join(node.ws_url, f"g{index}") for index in range(4)]
        assert big[0].joined["memberCount"] == 4 and len(big[0].joined["users"]) == LIMIT
        assert big[-1].joined["memberCount"] == 7 and {"id": "guest:g3", "name": "g3"} in big[-1].joined["users"]
        frames = presence(await ana.listen(2.5))
        assert all("count" in frame for frame in frames), frames
        assert frames and frames[-1]["count"] == 7
        # Four joins, and at most one count a second (not one frame per join): in 2.5 s no more than three. (Frames
        # are not timed against each other: delivery jitter on a busy machine would make that flaky.)
        assert len(frames) <= 3, frames

        # members pages everyone by id, whatever the room's size.
        seen, after = [], None
        while True:
            page = await big[0].call(type="members", room="hall", limit=2, **({"after": after} if after else {}))
            assert page["type"] == "members" and len(page["users"]) <= 2
            seen += [user["id"] for user in page["users"]]
            after = page["next"]
            if after is None:
                break
        assert seen == sorted(f"guest:{n}" for n in ["ana", "bea", "cid", "g0", "g1", "g2", "g3"])
        assert (await big[0].call(type="members", room="elsewhere"))["code"] == "not_joined"
        assert (await big[0].call(type="members", room="hall", limit=0))["code"] == "bad_request"

        # Back to the limit: the count once, then each leave is its own frame again.
        for guest in big:
            await guest.close()
        frames = presence(await ana.listen(2.5))
        assert frames[-1] == {"type": "presence", "room": "hall", "count": 3}, frames
        await small[1].close()
        left = await ana.wait_for(lambda e: e["type"] == "presence")
        assert (left["event"], left["user"]) == ("leave", "cid")

    asyncio.run(scenario())


def test_typing_in_a_large_room_reaches_only_the_recently_active(start_parley):
    node = start_parley("--presence-list-limit", str(LIMIT), "--rate-limit", "0")

    async def scenario():
        talker, quiet, typist = [await Guest.join(node.ws_url, name) for name in ("talker", "quiet", "typist")]
        others = [await Guest.join(node.ws_url, f"g{index}") for index in range(2)]
        assert others[-1].joined["memberCount"] == 5
        await talker.call(type="send", room="hall", text="hello", id="t1")
        await typist.ws.send(json.dumps({"type": "typing", "room": "hall"}))
        typing = await talker.wait_for(lambda e: e["type"] == "typing")
        assert typing["fromId"] == "guest:typist"
        assert [e for e in await quiet.listen(1.0) if e["type"] == "typing"] == []

    asyncio.run(scenario())
