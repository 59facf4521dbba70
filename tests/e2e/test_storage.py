"""The SQLite file as operators see it: failures that must show (a database locked by another process), a clean
stop that leaves one self-contained file, and `parley backup` while the server runs."""

import asyncio
import json
import shutil
import sqlite3
import subprocess
import time

import websockets

from conftest import BINARY
from test_cluster import ready
from test_operations import metrics


async def reply_to(ws, ref: str) -> dict:
    while True:
        event = json.loads(await ws.recv())
        if event.get("ref") == ref:
            return event


def test_a_database_locked_by_another_process_fails_sends_fast_turns_readyz_503_and_is_logged(start_parley, tmp_path):
    path = tmp_path / "locked.sqlite"
    node = start_parley(db=path)

    async def scenario():
        async with websockets.connect(node.ws_url, subprotocols=["parley.v1"]) as ws:
            await ws.send(json.dumps({"type": "hello", "name": "Ana"}))
            await ws.send(json.dumps({"type": "join", "room": "r", "ref": "j"}))
            await reply_to(ws, "j")
            await ws.send(json.dumps({"type": "send", "room": "r", "text": "before", "id": "1", "ref": "s1"}))
            assert (await reply_to(ws, "s1"))["type"] == "ack"

            holder = sqlite3.connect(path, isolation_level=None, timeout=5)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                started = time.monotonic()
                await ws.send(json.dumps({"type": "send", "room": "r", "text": "during", "id": "2", "ref": "s2"}))
                refused = await asyncio.wait_for(reply_to(ws, "s2"), 5)
                assert refused["type"] == "error" and refused["code"] == "internal"
                assert time.monotonic() - started < 4
                assert ready(node) == 503
                assert metrics(node)["parley_store_commit_failures_total"] >= 1
            finally:
                holder.execute("ROLLBACK")
                holder.close()

            deadline = time.monotonic() + 10
            while ready(node) != 200:
                assert time.monotonic() < deadline, "/readyz stayed 503 after the lock was released"
                await asyncio.sleep(0.2)
            await ws.send(json.dumps({"type": "send", "room": "r", "text": "during", "id": "2", "ref": "again"}))
            acknowledged = await reply_to(ws, "again")
            assert acknowledged["type"] == "ack" and acknowledged["offset"] == 2

    asyncio.run(scenario())
    log = node.stderr()
    assert "storing messages failed" in log and str(path) in log
    assert "storing messages works again" in log


def send_messages(url: str, count: int) -> None:
    async def scenario():
        async with websockets.connect(url, subprotocols=["parley.v1"]) as ws:
            await ws.send(json.dumps({"type": "hello", "name": "Ana"}))
            await ws.send(json.dumps({"type": "join", "room": "kept"}))
            for index in range(count):
                await ws.send(json.dumps({"type": "send", "room": "kept", "text": f"message {index}", "id": str(index)}))
            acks = 0
            while acks < count:
                if json.loads(await ws.recv())["type"] == "ack":
                    acks += 1

    asyncio.run(scenario())


def stored_messages(path) -> int:
    with sqlite3.connect(path) as database:
        return database.execute("SELECT COUNT(*) FROM messages").fetchone()[0]


def test_after_a_clean_stop_the_sqlite_file_alone_holds_the_history(start_parley, tmp_path):
    path = tmp_path / "whole.sqlite"
    node = start_parley("--rate-limit", "0", db=path)
    send_messages(node.ws_url, 100)
    assert node.stop() == 0
    wal = tmp_path / "whole.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    copied = tmp_path / "copy" / "whole.sqlite"
    copied.parent.mkdir()
    shutil.copy(path, copied)
    assert stored_messages(copied) == 100


def run_parley(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=60)


def test_backup_copies_the_database_while_the_server_writes_to_it(start_parley, tmp_path):
    path = tmp_path / "live.sqlite"
    node = start_parley("--rate-limit", "0", db=path)
    send_messages(node.ws_url, 50)
    assert (tmp_path / "live.sqlite-wal").stat().st_size > 0, "the history should still be in the write-ahead log"
    backup = tmp_path / "backup.sqlite"
    result = run_parley("backup", "--db", str(path), str(backup))
    assert result.returncode == 0, result.stderr
    assert "50 messages" in result.stdout
    assert not (tmp_path / "backup.sqlite-wal").exists()
    with sqlite3.connect(backup) as database:
        assert database.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert stored_messages(backup) == 50

    restored = start_parley(db=backup)

    async def history():
        async with websockets.connect(restored.ws_url, subprotocols=["parley.v1"]) as ws:
            await ws.send(json.dumps({"type": "hello", "name": "Bea"}))
            await ws.send(json.dumps({"type": "history", "room": "kept", "limit": 200, "ref": "h"}))
            return (await reply_to(ws, "h"))["messages"]

    assert [message["offset"] for message in asyncio.run(history())] == list(range(1, 51))

    again = run_parley("backup", "--db", str(path), str(backup))
    assert again.returncode != 0 and "already exists" in again.stderr
    missing = run_parley("backup", "--db", str(tmp_path / "nothing.sqlite"), str(tmp_path / "b2.sqlite"))
    assert missing.returncode != 0 and "no database" in missing.stderr
    postgres = run_parley("backup", "--db", "postgres://parley@localhost:5432/parley", str(tmp_path / "b3.sqlite"))
    assert postgres.returncode != 0 and "pg_dump" in postgres.stderr
