"""API keys for application backends (shared/contracts/http-and-sse.md): `parley keys create|list|revoke` on the
server's database, shown once and stored hashed; scopes; a key with publish posting as another user; a revoked key
refused at once; a key never accepted for chatting over WebSocket."""

import asyncio
import sqlite3

import pytest
import websockets

from identity import FAST_PASSWORDS, bearer, call, close_code, connect, hello, parley
from rooms import Client, account
from sse import EventStream


@pytest.fixture
def node(start_parley):
    return start_parley(*FAST_PASSWORDS, "--rate-limit", "0")


def create_key(db, name: str, *scope: str) -> str:
    created = parley("keys", "create", name, *(("--scope", ",".join(scope)) if scope else ()), "--db", str(db))
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("pak_") and len(key) > 40
    assert "not shown again" in created.stderr
    return key


def test_a_key_is_shown_once_stored_hashed_listed_by_name_and_revoked_at_once(node):
    key = create_key(node.db, "backend", "read", "publish")
    listed = parley("keys", "list", "--db", str(node.db))
    assert listed.returncode == 0
    assert listed.stdout.startswith("backend\tpublish,read\t") or listed.stdout.startswith("backend\tread,publish\t")
    assert key not in listed.stdout
    with sqlite3.connect(node.db) as database:
        stored = database.execute("SELECT * FROM api_keys").fetchall()
    assert len(stored) == 1 and key not in repr(stored)
    assert call(node, "GET", "/api/v1/rooms", headers=bearer(key)).status == 200
    revoked = parley("keys", "revoke", "backend", "--db", str(node.db))
    assert (revoked.returncode, revoked.stdout.strip()) == (0, "revoked backend")
    refused = call(node, "GET", "/api/v1/rooms", headers=bearer(key))
    assert (refused.status, refused.code) == (401, "unauthorized")
    assert parley("keys", "list", "--db", str(node.db)).stdout.strip() == "no keys"


def test_the_command_line_refuses_bad_keys_with_a_sentence(node):
    create_key(node.db, "backend")
    for args, message in [
        (("create", "Bad Name!"), "1–32 of a-z 0-9"),
        (("create", "other", "--scope", "read,write"), "unknown scope"),
        (("create", "backend"), "exists"),
        (("revoke", "nobody"), "no key named nobody"),
    ]:
        result = parley("keys", *args, "--db", str(node.db))
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)


def test_a_key_with_publish_posts_as_another_user_and_scopes_are_enforced(node):
    publisher = create_key(node.db, "publisher", "publish")
    reader = create_key(node.db, "reader", "read")
    ana = account(node, "ana")

    async def scenario():
        listener = await Client.connect(node, guest="Listener")
        await listener.call("join", room="lobby")
        posted = call(node, "POST", "/api/v1/rooms/lobby/messages",
                      {"text": "from the backend", "id": "k1", "as": {"id": "support-bot", "name": "Support"}}, bearer(publisher))
        assert posted.status == 201, posted.body
        message = await listener.next("message")
        assert (message["text"], message["fromId"], message["from"]) == ("from the backend", "support-bot", "Support")
        # Without `as`, the key posts as itself.
        assert call(node, "POST", "/api/v1/rooms/lobby/messages", {"text": "me", "id": "k2"}, bearer(publisher)).status == 201
        assert (await listener.next("message"))["fromId"] == "key:publisher"

    asyncio.run(scenario())
    # A signed-in user may not post as someone else; a bad `as` is a bad request.
    as_other = call(node, "POST", "/api/v1/rooms/lobby/messages", {"text": "x", "id": "u1", "as": {"id": "bob", "name": "Bob"}}, bearer(ana))
    assert (as_other.status, as_other.code) == (403, "forbidden")
    bad_as = call(node, "POST", "/api/v1/rooms/lobby/messages", {"text": "x", "id": "k3", "as": {"id": "", "name": "X"}}, bearer(publisher))
    assert (bad_as.status, bad_as.code) == (400, "bad_request")
    # Each endpoint needs its scope.
    assert call(node, "GET", "/api/v1/rooms/lobby/messages", headers=bearer(publisher)).code == "forbidden"
    assert call(node, "POST", "/api/v1/rooms/lobby/messages", {"text": "x", "id": "r1"}, bearer(reader)).code == "forbidden"
    assert call(node, "POST", "/api/v1/rooms/lobby/kick", {"user": "ana"}, bearer(reader)).code == "forbidden"
    assert EventStream(node, "lobby", bearer(publisher)).status == 403
    # A reader reads every room, private ones too.
    assert call(node, "POST", "/api/v1/rooms", {"room": "plans", "visibility": "private"}, bearer(ana)).status == 201
    assert call(node, "POST", "/api/v1/rooms/plans/messages", {"text": "secret", "id": "s"}, bearer(ana)).status == 201
    history = call(node, "GET", "/api/v1/rooms/plans/messages", headers=bearer(reader))
    assert [m["text"] for m in history.body["messages"]] == ["secret"]
    assert [m["text"] for m in EventStream(node, "plans", bearer(reader)).messages_until_quiet()] == ["secret"]
    texts = [m["text"] for m in call(node, "GET", "/api/v1/rooms/lobby/messages", headers=bearer(reader)).body["messages"]]
    assert texts == ["from the backend", "me"]


def test_a_key_moderates_with_the_moderate_scope(node):
    moderator = create_key(node.db, "mod", "moderate")
    ana, bob = account(node, "ana"), account(node, "bob")
    assert call(node, "POST", "/api/v1/rooms", {"room": "club"}, bearer(ana)).status == 201
    assert call(node, "POST", "/api/v1/rooms/club/messages", {"text": "spam", "id": "b1"}, bearer(bob)).status == 201
    assert call(node, "DELETE", "/api/v1/rooms/club/messages/1", headers=bearer(moderator)).status == 204
    assert call(node, "POST", "/api/v1/rooms/club/ban", {"user": "bob"}, bearer(moderator)).status == 204
    assert call(node, "POST", "/api/v1/rooms/club/messages", {"text": "again", "id": "b2"}, bearer(bob)).code == "forbidden"
    assert call(node, "POST", "/api/v1/bans", {"user": "bob"}, bearer(moderator)).status == 204


def test_a_key_is_never_accepted_for_chatting_over_websocket(node):
    key = create_key(node.db, "backend", "read", "publish", "moderate")

    async def scenario():
        ws = await connect(node.ws_url)
        refused = await hello(ws, name=None, token=key)
        assert (refused["type"], refused["code"]) == ("error", "unauthorized")
        assert await close_code(ws) == 4001
        with pytest.raises(websockets.InvalidStatus) as upgrade:
            await connect(node.ws_url, headers=bearer(key))
        assert upgrade.value.response.status_code == 401

    asyncio.run(scenario())


def test_keys_on_a_cluster_database_work_on_every_node_and_stop_on_revocation(start_parley, postgres_url):
    first = start_parley(*FAST_PASSWORDS, "--rate-limit", "0", db=postgres_url)
    second = start_parley(*FAST_PASSWORDS, "--rate-limit", "0", db=postgres_url)
    key = create_key(postgres_url, "backend", "read", "publish")
    assert call(first, "POST", "/api/v1/rooms/lobby/messages", {"text": "hi", "id": "1"}, bearer(key)).status == 201
    assert [m["text"] for m in call(second, "GET", "/api/v1/rooms/lobby/messages", headers=bearer(key)).body["messages"]] == ["hi"]
    assert parley("keys", "revoke", "backend", "--db", postgres_url).returncode == 0
    for node in (first, second):
        assert call(node, "GET", "/api/v1/rooms", headers=bearer(key)).status == 401


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_api_key_reaches_any_log_line(start_parley, log_format):
    node = start_parley("--log-level", "trace", "--log-format", log_format, *FAST_PASSWORDS, "--ping-interval", "1")
    key = create_key(node.db, "backend", "read", "publish")
    forged = "pak_forged-key-secret"
    assert call(node, "POST", "/api/v1/rooms/lobby/messages", {"text": "hi", "id": "1"}, bearer(key)).status == 201
    assert call(node, "GET", "/api/v1/rooms", headers=bearer(forged)).status == 401
    assert call(node, "GET", f"/api/v1/rooms?token={key}").status == 400
    stream = EventStream(node, "lobby", bearer(key))
    stream.next("message")
    assert parley("keys", "revoke", "backend", "--db", str(node.db)).returncode == 0
    assert stream.next("close", timeout=10)["code"] == 4001

    async def scenario():
        ws = await connect(node.ws_url)
        await hello(ws, name=None, token=key)
        await close_code(ws)

    asyncio.run(scenario())
    assert call(node, "GET", "/api/v1/rooms", headers=bearer(key)).status == 401
    assert node.stop() == 0
    log = node.stderr()
    assert log, "the server should have logged something at trace level"
    for secret in (key, key[4:], "forged-key-secret"):
        assert secret not in log, f"an API key reached the {log_format} log"
