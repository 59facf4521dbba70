"""Several Parley nodes on one PostgreSQL database: fan-out, offsets, presence and recovery across nodes."""

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import websockets

from conftest import psql
from test_bench import assert_every_message_reached_every_member, run_bench
from test_operations import metrics


@pytest.fixture
def start_node(postgres_url, start_parley):
    """Starts nodes on this test's database (a short node timeout keeps crash tests quick)."""

    def start(*args: str, port: int = 0, url: str | None = None):
        node = start_parley("--node-timeout", "3", "--rate-limit", "0", *args, db=url or postgres_url, port=port)
        wait_until_ready(node)
        return node

    return start


class Member:
    """A parley.v1 client: hello, join, then events by type."""

    def __init__(self, ws, name: str):
        self.ws = ws
        self.name = name
        self.pending: list[dict] = []

    @classmethod
    async def connect(cls, url: str, name: str, room: str | None = None, since: int | None = None) -> "Member":
        # An unbounded queue: a client that stops reading must still see the close handshake promptly.
        member = cls(await websockets.connect(url, subprotocols=["parley.v1"], max_size=None, max_queue=None), name)
        await member.ws.send(json.dumps({"type": "hello", "name": name}))
        await member.next("welcome")
        if room:
            await member.join(room, since)
        return member

    async def join(self, room: str, since: int | None = None) -> dict:
        command = {"type": "join", "room": room}
        if since is not None:
            command["since"] = since
        await self.ws.send(json.dumps(command))
        return await self.next("joined")

    async def send(self, room: str, text: str, id: str) -> None:
        await self.ws.send(json.dumps({"type": "send", "room": room, "text": text, "id": id}))

    async def next(self, *types: str, timeout: float = 15) -> dict:
        """The next event of one of `types`, skipping (and keeping) others."""
        for index, event in enumerate(self.pending):
            if event["type"] in types:
                return self.pending.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            event = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.01, deadline - time.monotonic())))
            if event["type"] in types:
                return event
            self.pending.append(event)

    async def messages(self, count: int, timeout: float = 30) -> list[dict]:
        return [await self.next("message", timeout=timeout) for _ in range(count)]

    async def close(self) -> None:
        await self.ws.close()


def ready(node) -> int:
    try:
        with urllib.request.urlopen(node.http_url + "/readyz", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_until_ready(node, timeout: float = 10) -> None:
    """A node answers 503 on /readyz until its LISTEN connection is up and caught up."""
    deadline = time.monotonic() + timeout
    while ready(node) != 200:
        assert time.monotonic() < deadline, f"node not ready within {timeout} s: {node.stderr()}"
        time.sleep(0.05)


def test_messages_sent_on_every_node_reach_every_node_in_offset_order(start_node):
    """Three nodes, a reader and a writer on each: every reader gets every message once, offsets 1…N in order,
    and each writer's acks are its own messages' offsets."""
    nodes = [start_node() for _ in range(3)]
    per_writer = 60

    async def scenario():
        readers = [await Member.connect(node.ws_url, f"reader{i}", "hall") for i, node in enumerate(nodes)]
        writers = [await Member.connect(node.ws_url, f"writer{i}", "hall") for i, node in enumerate(nodes)]

        async def write(index, writer):
            for n in range(per_writer):
                await writer.send("hall", f"{index}:{n}", f"w{index}-{n}")
            return [await writer.next("ack") for _ in range(per_writer)]

        acks = await asyncio.gather(*(write(i, w) for i, w in enumerate(writers)))
        total = per_writer * len(writers)
        for reader in readers:
            received = await reader.messages(total)
            assert [m["offset"] for m in received] == list(range(1, total + 1))
            for index in range(len(writers)):
                mine = [m["text"] for m in received if m["from"] == f"writer{index}"]
                assert mine == [f"{index}:{n}" for n in range(per_writer)], "one writer's messages out of order"
        all_acked = sorted(ack["offset"] for writer_acks in acks for ack in writer_acks)
        assert all_acked == list(range(1, total + 1))
        for member in readers + writers:
            await member.close()

    asyncio.run(scenario())


def test_concurrent_writers_on_every_node_get_gapless_offsets_and_resends_are_deduplicated(start_node, postgres_url):
    nodes = [start_node() for _ in range(3)]
    writers_per_node, per_writer = 4, 40

    async def scenario():
        writers = [
            await Member.connect(node.ws_url, f"w{n}-{k}", "busy") for n, node in enumerate(nodes) for k in range(writers_per_node)
        ]

        async def write(writer):
            for n in range(per_writer):
                await writer.send("busy", "x", f"{writer.name}-{n}")
            return [await writer.next("ack") for _ in range(per_writer)]

        acks = await asyncio.gather(*(write(w) for w in writers))
        first = {ack["id"]: ack["offset"] for writer_acks in acks for ack in writer_acks}
        # The same sender resends an id through another node after "reconnecting": the original ack, no new message.
        again = await Member.connect(nodes[2].ws_url, "w0-0", "busy")
        await again.send("busy", "x", "w0-0-7")
        ack = await again.next("ack")
        assert ack["offset"] == first["w0-0-7"]
        for member in writers + [again]:
            await member.close()

    asyncio.run(scenario())
    total = len(nodes) * writers_per_node * per_writer
    rows = psql(postgres_url, "SELECT count(*), min(room_offset), max(room_offset), count(DISTINCT room_offset) FROM parley_messages WHERE room = 'busy'")
    assert rows == f"{total}|1|{total}|{total}"
    assert psql(postgres_url, "SELECT head FROM parley_rooms WHERE room = 'busy'") == str(total)


async def presence_settled(postgres_url: str, room: str, name: str, nodes: int) -> None:
    """Waits until `name` is recorded present in `room` on `nodes` nodes (presence crosses nodes asynchronously:
    a node writes its row and notifies in one statement, the others apply it a moment later)."""
    deadline = time.monotonic() + 5
    query = f"SELECT count(*) FROM parley_presence WHERE room = '{room}' AND name = '{name}'"
    while psql(postgres_url, query) != str(nodes):
        assert time.monotonic() < deadline, f"{name} not present on {nodes} nodes"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)


def test_presence_and_typing_span_nodes(start_node, postgres_url):
    a, b = start_node(), start_node()

    async def scenario():
        ana = await Member.connect(a.ws_url, "Ana", "porch")
        await presence_settled(postgres_url, "porch", "Ana", 1)
        bea = await Member.connect(b.ws_url, "Bea")
        joined = await bea.join("porch")
        assert joined["members"] == ["Ana", "Bea"]
        assert joined["users"] == [{"id": "guest:Ana", "name": "Ana"}, {"id": "guest:Bea", "name": "Bea"}]
        assert (await ana.next("presence")) == {"type": "presence", "room": "porch", "event": "join", "user": "Bea", "userId": "guest:Bea"}
        await bea.ws.send(json.dumps({"type": "typing", "room": "porch"}))
        assert (await ana.next("typing")) == {"type": "typing", "room": "porch", "from": "Bea", "fromId": "guest:Bea"}

        # Bea also on node A: nobody sees her join twice, and she stays present until both her connections leave.
        bea_again = await Member.connect(a.ws_url, "Bea", "porch")
        await presence_settled(postgres_url, "porch", "Bea", 2)
        await bea.close()
        late = await Member.connect(b.ws_url, "Cid", "porch")
        assert (await late.join("porch"))["members"] == ["Ana", "Bea", "Cid"]
        # Cid's join reaches node A by NOTIFY, so it is awaited before Bea's last connection (on A) closes.
        assert (await ana.next("presence")) == {"type": "presence", "room": "porch", "event": "join", "user": "Cid", "userId": "guest:Cid"}
        await bea_again.close()
        assert (await ana.next("presence")) == {"type": "presence", "room": "porch", "event": "leave", "user": "Bea", "userId": "guest:Bea"}
        assert (await late.next("presence")) == {"type": "presence", "room": "porch", "event": "leave", "user": "Bea", "userId": "guest:Bea"}
        for member in (ana, late):
            await member.close()

    asyncio.run(scenario())


def test_a_database_from_before_users_keeps_its_history_with_guest_sender_ids(start_node, postgres_url):
    """A cluster database at schema version 1 (senders were display names) migrates in place: the history stays,
    each message's sender becomes the guest of that name, and resending an old id is still deduplicated."""
    psql(
        postgres_url,
        """
        CREATE TABLE parley_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE parley_rooms (room text PRIMARY KEY, head bigint NOT NULL DEFAULT 0 CHECK (head >= 0));
        CREATE TABLE parley_messages (room text NOT NULL, room_offset bigint NOT NULL CHECK (room_offset >= 1),
            sender text NOT NULL, client_id text NOT NULL, text text NOT NULL, stored_at bigint NOT NULL,
            PRIMARY KEY (room, room_offset), UNIQUE (room, sender, client_id));
        CREATE TABLE parley_nodes (node_id text PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now(),
            heartbeat_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE parley_presence (node_id text NOT NULL REFERENCES parley_nodes ON DELETE CASCADE, room text NOT NULL,
            name text NOT NULL, PRIMARY KEY (node_id, room, name));
        INSERT INTO parley_migrations (version, name) VALUES (1, 'messages, rooms, nodes, presence');
        INSERT INTO parley_rooms VALUES ('old', 2);
        INSERT INTO parley_messages VALUES ('old', 1, 'Ana', 'a1', 'from before', 0), ('old', 2, 'Bea', 'b1', 'also', 0);
        """,
    )
    node = start_node()

    async def scenario():
        ana = await Member.connect(node.ws_url, "Ana", "old")
        history = await ana.messages(2)
        assert [(m["from"], m["fromId"], m["text"]) for m in history] == [("Ana", "guest:Ana", "from before"), ("Bea", "guest:Bea", "also")]
        await ana.send("old", "from before, again", "a1")
        acknowledged = await ana.next("ack")
        assert acknowledged["offset"] == 1
        await ana.close()

    asyncio.run(scenario())
    assert psql(postgres_url, "SELECT max(version) FROM parley_migrations") == "6"
    # Rooms from before rooms had owners are public rooms without one.
    assert psql(postgres_url, "SELECT kind || ' ' || visibility FROM parley_rooms WHERE room = 'old'") == "room public"
    assert psql(postgres_url, "SELECT count(*) FROM parley_room_members WHERE role = 'owner'") == "0"


def test_a_message_over_the_notify_limit_travels_by_reference(start_node):
    a, b = start_node(), start_node()
    text = "é" * 8000  # 16,000 bytes of UTF-8, twice NOTIFY's limit

    async def scenario():
        reader = await Member.connect(b.ws_url, "reader", "big")
        writer = await Member.connect(a.ws_url, "writer", "big")
        await writer.send("big", text, "big-1")
        await writer.send("big", "small", "small-2")
        received = await reader.messages(2)
        assert [(m["offset"], m["text"]) for m in received] == [(1, text), (2, "small")]
        await reader.close()
        await writer.close()

    asyncio.run(scenario())
    assert metrics(b)["parley_cluster_catch_up_messages_total"] >= 1


def test_plain_clients_on_different_nodes_chat_as_in_the_tutorial(start_node):
    a, b = start_node(), start_node()

    async def scenario():
        async with websockets.connect(a.ws_url) as one, websockets.connect(b.ws_url) as two:
            await asyncio.sleep(0.3)
            await one.send("Teste")
            assert await asyncio.wait_for(two.recv(), 10) == "Mensagem recebida: Teste"
            assert await asyncio.wait_for(one.recv(), 10) == "Mensagem recebida: Teste"
            async with websockets.connect(b.ws_url) as three:
                await asyncio.sleep(0.2)
            assert await asyncio.wait_for(one.recv(), 10) == "Um cliente desconectou."
            assert await asyncio.wait_for(two.recv(), 10) == "Um cliente desconectou."

    asyncio.run(scenario())


def test_a_plain_client_on_a_node_just_started_gets_no_history(start_node, start_parley, postgres_url):
    """Plain clients receive what is sent after their handshake, even on a node whose cluster link is not up yet."""
    a = start_node()

    async def scenario():
        async with websockets.connect(a.ws_url) as old:
            await old.send("before")
            assert await asyncio.wait_for(old.recv(), 10) == "Mensagem recebida: before"
        fresh = start_parley("--node-timeout", "3", db=postgres_url)
        async with websockets.connect(fresh.ws_url) as late:
            wait_until_ready(fresh)
            async with websockets.connect(a.ws_url) as writer:
                await writer.send("after")
                assert await asyncio.wait_for(writer.recv(), 10) == "Mensagem recebida: after"
                assert await asyncio.wait_for(late.recv(), 10) == "Mensagem recebida: after"

    asyncio.run(scenario())


def test_clients_of_a_killed_node_resume_on_another_with_nothing_lost(start_node):
    """kill -9 of a node under traffic: its writer reconnects to the other node and resumes; every acknowledged
    message is there once, in order; the others see the dead node's members leave within the node timeout."""
    a, b = start_node(), start_node()

    async def scenario():
        watcher = await Member.connect(a.ws_url, "Watcher", "ops")
        writer = await Member.connect(b.ws_url, "Writer", "ops")
        await watcher.next("presence")
        acked: dict[str, int] = {}
        seen: list[int] = []

        async def keep_writing():
            n = 0
            while True:
                await writer.send("ops", f"m{n}", f"m{n}")
                n += 1
                await asyncio.sleep(0.005)

        async def collect_acks():
            while True:
                event = await writer.next("ack", "message")
                if event["type"] == "ack":
                    acked[event["id"]] = event["offset"]
                else:
                    seen.append(event["offset"])

        tasks = [asyncio.create_task(keep_writing()), asyncio.create_task(collect_acks())]
        await asyncio.sleep(1.0)
        b.process.send_signal(signal.SIGKILL)
        b.process.wait(10)
        killed_at = time.monotonic()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

        left = await watcher.next("presence", timeout=20)
        assert left["event"] == "leave" and left["user"] == "Writer"
        assert time.monotonic() - killed_at < 3 + 3 + 2, "the dead node's members left later than its timeout allows"

        resumed = await Member.connect(a.ws_url, "Writer")
        last_seen = max(seen, default=0)
        joined = await resumed.join("ops", since=last_seen)
        rest = await resumed.messages(joined["head"] - last_seen)
        offsets = seen + [m["offset"] for m in rest]
        assert offsets == list(range(1, joined["head"] + 1))
        assert set(acked.values()) <= set(offsets)
        watched = await watcher.messages(joined["head"])
        assert [m["offset"] for m in watched] == offsets
        await resumed.close()
        await watcher.close()
        return len(acked)

    assert asyncio.run(scenario()) > 20


def kill_listen_connections(postgres_url: str) -> str:
    """Terminates every node's LISTEN connection; how many there were."""
    return psql(
        postgres_url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = 'parley listen' AND datname = current_database()",
    )


async def deliveries_survive(reader_node, writer_node, total: int, pause: float, cut) -> None:
    """A writer on one node sends `total` messages, one every `pause` seconds, while `cut()` runs: the reader on the
    other node gets every one exactly once, in order, and nothing more."""
    reader = await Member.connect(reader_node.ws_url, "reader", "stream")
    writer = await Member.connect(writer_node.ws_url, "writer", "stream")

    async def write():
        for n in range(total):
            await writer.send("stream", f"m{n}", f"m{n}")
            await asyncio.sleep(pause)

    await asyncio.gather(write(), cut())
    # Every send committed: a send refused on the writer's node would also leave the reader waiting.
    answers = [await writer.next("ack", "error", timeout=30) for _ in range(total)]
    assert [a for a in answers if a["type"] == "error"] == []
    received = await reader.messages(total)
    assert [m["offset"] for m in received] == list(range(1, total + 1))
    assert [m["text"] for m in received] == [f"m{n}" for n in range(total)]
    with pytest.raises(asyncio.TimeoutError):
        await reader.next("message", timeout=1)
    await reader.close()
    await writer.close()


def test_a_killed_listen_connection_loses_no_delivery(start_node, postgres_url):
    """pg_terminate_backend on a node's LISTEN connection in the middle of traffic from another node: the reader on
    it gets every message exactly once, in order, and the node is ready again."""
    a, b = start_node(), start_node()

    async def cut():
        await asyncio.sleep(0.5)
        assert kill_listen_connections(postgres_url) == "2", "expected one LISTEN connection per node"

    asyncio.run(deliveries_survive(a, b, 400, 0.004, cut))
    assert metrics(a)["parley_cluster_link_losses_total"] == 1
    assert ready(a) == 200 and ready(b) == 200


def test_listen_connections_killed_again_and_again_lose_no_delivery(start_node, postgres_url):
    """The LISTEN connections are killed at a dozen random moments while another node writes, so that kills land in
    every phase of the link (listening, reconnecting, LISTENing again, catching up, handling a notification): the
    reader still gets every message exactly once, in order."""
    import random

    a, b = start_node(), start_node()
    moments = random.Random(17)

    async def cut():
        for _ in range(12):
            await asyncio.sleep(moments.uniform(0.02, 0.5))
            await asyncio.to_thread(kill_listen_connections, postgres_url)

    asyncio.run(deliveries_survive(a, b, 600, 0.005, cut))
    assert metrics(a)["parley_cluster_link_losses_total"] >= 2
    # Only the LISTEN connections carry its name: a pool connection named so would be killed with them mid-commit.
    wait_until_ready(a)
    wait_until_ready(b)
    assert psql(postgres_url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'parley listen'"
                " AND datname = current_database()") == "2"


def test_readiness_follows_the_database_and_clients_are_sent_away_during_an_outage(start_node, postgres_url):
    """The database becomes unreachable from one node: /readyz turns 503 at once, its clients are closed with 1001
    after the grace period (to resume on a node that can serve them), and all is well again once it is back."""
    from tcpproxy import TcpProxy

    host_port = postgres_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    proxy = TcpProxy(host, int(port))
    # At debug level the log shows each service stopping, should the node not stop.
    node = start_node("--log-level", "debug", url=postgres_url.replace(host_port, f"127.0.0.1:{proxy.port}"))
    wait_until_ready(node)

    async def scenario():
        member = await Member.connect(node.ws_url, "Ana", "hall")
        proxy.cut()
        deadline = time.monotonic() + 5
        while ready(node) != 503:
            assert time.monotonic() < deadline, "/readyz still 200 with the database unreachable"
            await asyncio.sleep(0.1)
        cut_at = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await member.next("message", timeout=30)
        assert closed.value.rcvd.code == 1001
        assert 8 < time.monotonic() - cut_at < 20
        proxy.restore()
        deadline = time.monotonic() + 15
        while ready(node) != 200:
            assert time.monotonic() < deadline, "/readyz did not recover with the database back"
            await asyncio.sleep(0.2)
        again = await Member.connect(node.ws_url, "Ana", "hall")
        await again.send("hall", "back", "b1")
        assert (await again.next("message"))["text"] == "back"
        await again.close()

    asyncio.run(scenario())
    proxy.cut()


def test_an_unreachable_or_refusing_database_ends_serve_naming_it_without_the_password(postgres_url):
    from conftest import free_port
    from test_process import run_parley

    unreachable = f"postgres://parley:s3cret@127.0.0.1:{free_port()}/nothing"
    started = time.monotonic()
    result = run_parley("serve", "--port", "0", "--db", unreachable, timeout=40)
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    assert unreachable.replace(":s3cret", "") in result.stderr
    assert "s3cret" not in result.stderr + result.stdout

    user_and_password, rest = postgres_url.split("://", 1)[1].split("@", 1)
    wrong = f"postgres://{user_and_password.split(':')[0]}:not-the-password@{rest}"
    result = run_parley("serve", "--port", "0", "--db", wrong, timeout=40)
    assert result.returncode != 0
    assert "password authentication failed" in result.stderr
    assert "not-the-password" not in result.stderr


@pytest.fixture
def nginx(tmp_path):
    """Runs nginx with deploy/nginx/parley.conf (or another configuration of deploy/nginx/), its node addresses and
    port replaced with the test's."""
    processes = []

    def start(node_ports: list[int], configuration: str = "parley.conf"):
        from conftest import ROOT, free_port

        site = (ROOT / "deploy" / "nginx" / configuration).read_text()
        servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+ .*;$", site, re.MULTILINE)
        assert len(servers) == len(node_ports), "the shipped configuration should list one node per test node"
        for line, port in zip(servers, node_ports):
            site = site.replace(line, re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", line))
        port = free_port()
        site = site.replace("listen 8080;", f"listen 127.0.0.1:{port};")
        (tmp_path / "parley.conf").write_text(site)
        user = "user root;" if os.geteuid() == 0 else ""
        (tmp_path / "nginx.conf").write_text(
            f"""
            {user}
            worker_processes 1;
            pid {tmp_path}/nginx.pid;
            error_log {tmp_path}/nginx-error.log;
            events {{ worker_connections 1024; }}
            http {{
                access_log {tmp_path}/nginx-access.log;
                client_body_temp_path {tmp_path}/client_body;
                proxy_temp_path {tmp_path}/proxy;
                fastcgi_temp_path {tmp_path}/fastcgi;
                uwsgi_temp_path {tmp_path}/uwsgi;
                scgi_temp_path {tmp_path}/scgi;
                include {tmp_path}/parley.conf;
            }}
            """
        )
        process = subprocess.Popen(
            ["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def test_a_chat_through_nginx_in_front_of_two_nodes(start_node, nginx):
    a, b = start_node("--max-connections-per-ip", "0"), start_node("--max-connections-per-ip", "0")
    port = nginx([a.port, b.port])
    url = f"ws://127.0.0.1:{port}/ws"

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        assert "text/html" in response.headers["Content-Type"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
        assert response.status == 200
    # Metrics are scraped from each node, never served to the public through the proxy.
    with pytest.raises(urllib.error.HTTPError) as hidden:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert hidden.value.code == 404

    async def scenario():
        ana = await Member.connect(url, "Ana", "lobby")
        bea = await Member.connect(url, "Bea", "lobby")
        # Round robin put one on each node.
        assert metrics(a)["parley_connections_open"] == 1 and metrics(b)["parley_connections_open"] == 1
        await ana.send("lobby", "olá through nginx", "a1")
        assert (await bea.next("message"))["text"] == "olá through nginx"
        await bea.send("lobby", "hello back", "b1")
        assert (await bea.next("message"))["text"] == "hello back"
        assert [m["text"] for m in await ana.messages(2)] == ["olá through nginx", "hello back"]
        await ana.close()
        await bea.close()
        # The origin check still works behind the proxy (nginx passes the browser's Origin and the Host).
        async with websockets.connect(url, origin="http://evil.example", subprotocols=["parley.v1"]) as intruder:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await intruder.send(json.dumps({"type": "ping"}))
                await asyncio.wait_for(intruder.recv(), 5)
            assert closed.value.rcvd.code == 1008

    asyncio.run(scenario())


def test_the_deployment_guide_shows_the_shipped_configurations_verbatim():
    from conftest import ROOT

    guide = (ROOT / "docs" / "deploy.md").read_text()
    for path in ("deploy/nginx/parley.conf", "deploy/haproxy/parley.cfg", "deploy/systemd/parley.service"):
        assert (ROOT / path).read_text().rstrip() in guide, f"docs/deploy.md does not show {path} as shipped"


def test_accounts_and_sessions_are_shared_by_the_nodes_and_a_logout_reaches_every_node(start_node, postgres_url):
    from identity import FAST_PASSWORDS, bearer, call, close_code, connect, hello, login, parley, register

    a, b = start_node(*FAST_PASSWORDS), start_node(*FAST_PASSWORDS)
    assert register(a, "ana", name="Ana").status == 201
    assert register(b, "ana").code == "user_taken"
    token = login(a, "ana", "correct horse battery").body["token"]
    assert call(b, "GET", "/api/v1/me", headers=bearer(token)).body["user"] == {"id": "ana", "name": "Ana", "guest": False}
    added = parley("users", "add", "bea", "--password-stdin", "--db", postgres_url, stdin="bea's password\n")
    assert added.returncode == 0, added.stderr
    assert login(b, "bea", "bea's password").status == 200

    async def scenario():
        async with await connect(b.ws_url) as on_b:
            assert (await hello(on_b, token=token))["user"]["id"] == "ana"
            started = time.monotonic()
            assert call(a, "POST", "/api/v1/logout", headers=bearer(token)).status == 204
            assert await close_code(on_b) == 4001
            assert time.monotonic() - started < 5
        for node in (a, b):
            assert call(node, "GET", "/api/v1/me", headers=bearer(token)).status == 401
        bea = login(a, "bea", "bea's password").body["token"]
        async with await connect(b.ws_url) as on_b:
            await hello(on_b, token=bea)
            started = time.monotonic()
            assert parley("users", "disable", "bea", "--db", postgres_url).returncode == 0
            assert await close_code(on_b) == 4001
            assert time.monotonic() - started < 5

    asyncio.run(scenario())


def test_kicks_bans_and_deletions_on_one_node_take_effect_on_the_other_within_a_second(start_node, postgres_url):
    from identity import FAST_PASSWORDS
    from rooms import Client, account, admin_account

    a, b = start_node(*FAST_PASSWORDS), start_node(*FAST_PASSWORDS)
    ana, bea, carol, root = account(a, "ana"), account(a, "bea"), account(a, "carol"), admin_account(a)

    async def scenario():
        ana_on_a, root_on_a = await Client.connect(a, token=ana), await Client.connect(a, token=root)
        bea_on_b, carol_on_b = await Client.connect(b, token=bea), await Client.connect(b, token=carol)
        await ana_on_a.call("create", room="ops", visibility="private")
        await ana_on_a.call("join", room="ops")
        assert (await ana_on_a.call("invite", room="ops", user="bea"))["type"] == "done"
        await bea_on_b.next("invited", room="ops")
        assert (await bea_on_b.call("join", room="ops"))["type"] == "joined"
        sent = await ana_on_a.call("send", room="ops", text="to be deleted", id="d1")
        assert (await bea_on_b.next("message", room="ops"))["text"] == "to be deleted"

        started = time.monotonic()
        assert (await ana_on_a.call("delete", room="ops", offset=sent["offset"]))["type"] == "done"
        deleted = await bea_on_b.next("deleted", room="ops")
        assert deleted["target"] == sent["offset"] and time.monotonic() - started < 1.0

        started = time.monotonic()
        assert (await ana_on_a.call("ban", room="ops", user="bea"))["type"] == "done"
        removed = await bea_on_b.next("removed", room="ops")
        assert removed["reason"] == "banned" and time.monotonic() - started < 1.0
        await ana_on_a.call("send", room="ops", text="after the ban", id="d2")
        assert await bea_on_b.nothing_of("ops", seconds=0.5) == []
        assert (await bea_on_b.call("join", room="ops"))["code"] == "forbidden"

        started = time.monotonic()
        assert (await root_on_a.call("ban", user="carol"))["type"] == "done"
        assert await carol_on_b.close_code() == 4003
        assert time.monotonic() - started < 1.0
        with pytest.raises(Exception) as refused:
            await Client.connect(b, token=carol)
        assert "4003" in str(refused.value) or "forbidden" in str(refused.value)

    asyncio.run(scenario())


def test_a_large_rooms_count_and_member_list_span_the_nodes(start_node):
    from test_large_rooms import Guest

    a, b = start_node("--presence-list-limit", "3"), start_node("--presence-list-limit", "3")

    async def scenario():
        on_a = [await Guest.join(a.ws_url, name) for name in ("a1", "a2")]
        on_b = [await Guest.join(b.ws_url, "b1")]
        # Presence crosses nodes asynchronously: wait until node B knows both of A's members.
        deadline = time.monotonic() + 10
        while True:
            page = await on_b[0].call(type="members", room="hall")
            if len(page["users"]) == 3 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert [user["id"] for user in page["users"]] == ["guest:a1", "guest:a2", "guest:b1"]
        on_b.append(await Guest.join(b.ws_url, "b2"))
        assert on_b[-1].joined["memberCount"] == 4 and len(on_b[-1].joined["users"]) == 3
        counted = await on_a[0].wait_for(lambda e: e["type"] == "presence" and "count" in e)
        assert counted["count"] == 4
        for guest in on_a + on_b:
            await guest.close()

    asyncio.run(scenario())


def test_parley_bench_sends_on_one_node_and_reads_on_another_with_zero_loss(start_node):
    """benchmarks/cluster.sh's throughput case, small: senders on node A, readers on node B (--reader-url), so every
    message a reader counts crossed the cluster."""
    node_a, node_b = start_node(), start_node()
    report, _ = run_bench(node_a, "--reader-url", node_b.ws_url, "--clients", "8", "--rooms", "2", "--senders", "2",
                          "--rate", "200", "--duration", "2", "--warmup", "0.5")
    assert_every_message_reached_every_member(report, 4)
