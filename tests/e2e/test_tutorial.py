"""The tutorial's contract, checked against the real binary with the `websockets` package."""

import asyncio
import json

import websockets


def test_the_tutorials_own_test_passes_unchanged(parley):
    async def scenario():
        async with websockets.connect(parley.ws_url) as websocket:
            await websocket.send("Teste")
            response = await websocket.recv()
            assert "Mensagem recebida: Teste" in response

    asyncio.run(scenario())


def test_two_terminals_chat_in_plain_mode_and_parley_v1_and_history_survives_a_restart(start_parley, tmp_path):
    """The README's walk-through: a plain client and a parley.v1 client in the lobby, then a restart."""
    db = tmp_path / "chat.sqlite"
    node = start_parley(db=db)

    async def chat():
        async with websockets.connect(node.ws_url) as plain, websockets.connect(
            node.ws_url, subprotocols=["parley.v1"]
        ) as modern:
            assert modern.subprotocol == "parley.v1"
            assert plain.subprotocol is None
            await modern.send(json.dumps({"type": "hello", "name": "Ana"}))
            assert json.loads(await modern.recv())["type"] == "welcome"
            await modern.send(json.dumps({"type": "join", "room": "lobby"}))
            joined = json.loads(await modern.recv())
            assert joined["type"] == "joined" and joined["head"] == 0
            await plain.send("oi do terminal 1")
            assert await plain.recv() == "Mensagem recebida: oi do terminal 1"
            message = json.loads(await modern.recv())
            assert (message["type"], message["text"], message["offset"]) == ("message", "oi do terminal 1", 1)
            await modern.send(json.dumps({"type": "send", "room": "lobby", "text": "olá do terminal 2", "id": "a-1"}))
            replies = {json.loads(await modern.recv())["type"] for _ in range(2)}
            assert replies == {"ack", "message"}
            assert await plain.recv() == "Mensagem recebida: olá do terminal 2"

    asyncio.run(chat())
    assert node.stop() == 0
    again = start_parley(db=db)

    async def history():
        async with websockets.connect(again.ws_url, subprotocols=["parley.v1"]) as modern:
            await modern.send(json.dumps({"type": "hello", "name": "Bruno"}))
            await modern.recv()
            await modern.send(json.dumps({"type": "history", "room": "lobby"}))
            page = json.loads(await modern.recv())
            assert [m["text"] for m in page["messages"]] == ["oi do terminal 1", "olá do terminal 2"]
            assert [m["from"] for m in page["messages"]] == ["guest", "Ana"]

    asyncio.run(history())
