"""parley-bench runs a small case against the real server and reports no loss (a check that it works, not a speed)."""

import json
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from conftest import BINARY, ROOT, free_port

BENCH = BINARY.with_name("parley-bench")


def run_bench(node, *args: str) -> tuple[dict, str]:
    """Runs parley-bench against `node` with `args`: its JSON report and what it said on standard error."""
    result = subprocess.run([str(BENCH), "--url", node.ws_url, *args, "--json", "-"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def assert_every_message_reached_every_member(report: dict, members_per_room: int):
    assert (report["lost"], report["duplicated"], report["outOfOrder"]) == (0, 0, 0)
    assert (report["errors"], report["disconnects"]) == (0, 0)
    assert report["messagesSent"] > 100
    assert report["deliveries"] == report["messagesSent"] * members_per_room
    assert report["latencyMilliseconds"]["count"] == report["deliveries"]


def test_parley_bench_runs_a_small_case_with_zero_loss(start_parley):
    node = start_parley("--rate-limit", "0")
    report, progress = run_bench(node, "--clients", "12", "--rooms", "2", "--senders", "4", "--rate", "100", "--size", "200",
                                 "--duration", "2", "--warmup", "0.5")
    assert_every_message_reached_every_member(report, 6)
    assert "deliveries/s" in progress


def test_parley_bench_follows_rooms_over_event_streams_with_zero_loss(start_parley):
    """--sse: the clients that do not send follow their room over /api/v1/events (issue 15's 1,000-subscriber case)."""
    node = start_parley("--rate-limit", "0")
    report, _ = run_bench(node, "--sse", "--clients", "12", "--rooms", "2", "--senders", "4", "--rate", "100",
                          "--duration", "2", "--warmup", "0.5")
    assert_every_message_reached_every_member(report, 6)


def test_parley_bench_plain_mode_measures_a_broadcast_server_with_zero_loss(start_parley):
    """--plain speaks the tutorial's protocol (here to Parley's plain mode), as benchmarks/peers.sh does to the
    tutorial's FastAPI server, Node ws and libwebsockets."""
    node = start_parley("--rate-limit", "0")
    report, _ = run_bench(node, "--plain", "--clients", "8", "--senders", "2", "--rate", "0", "--duration", "1.5", "--warmup", "0.5")
    assert (report["lost"], report["duplicated"], report["outOfOrder"]) == (0, 0, 0)
    assert report["disconnects"] == 0
    assert report["messagesSent"] > 20
    assert report["deliveries"] == report["messagesSent"] * 8


def test_parley_bench_refuses_a_bad_setting():
    result = subprocess.run([str(BENCH), "--clients", "0"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "--clients" in result.stderr


def test_parley_bench_says_why_no_client_could_connect(start_parley):
    node = start_parley()
    for url, reason in [
        (f"ws://127.0.0.1:{free_port()}/ws", "Connection refused"),
        (node.ws_url.replace("/ws", "/no-such-endpoint"), "refused the WebSocket upgrade"),
        (node.ws_url.replace("ws://", "http://"), "--url must be ws://"),
    ]:
        result = subprocess.run([str(BENCH), "--url", url, "--clients", "2", "--duration", "1"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0, url
        assert reason in result.stderr, (url, result.stderr)


def test_parley_bench_reports_the_servers_cpu_by_thread(start_parley):
    """--server-pid: the server's CPU over the measured window, in all and by thread, the writer's included (how a
    change to one thread is measured in docs/benchmarks.md)."""
    node = start_parley("--rate-limit", "0")
    report, _ = run_bench(node, "--server-pid", str(node.process.pid), "--clients", "10", "--senders", "10",
                          "--rate", "200", "--duration", "2", "--warmup", "0.5")
    assert_every_message_reached_every_member(report, 10)
    threads = report["serverThreadCPUSeconds"]
    assert threads.get("parley-commit", 0) > 0, threads
    assert all(seconds > 0 for seconds in threads.values()), threads
    assert report["serverCPUSeconds"] is not None


def compile_sqlite_commit_floor(tmp_path: Path) -> Path:
    """Builds benchmarks/sqlite_commit_floor.c as benchmarks/sqlite_commit_floor.sh does."""
    compiler = shutil.which("cc") or shutil.which("clang")
    assert compiler, "no C compiler (cc or clang)"
    program = tmp_path / "sqlite_commit_floor"
    subprocess.run([compiler, "-O2", "-o", str(program), str(ROOT / "benchmarks" / "sqlite_commit_floor.c"), "-lsqlite3"],
                   check=True, timeout=120)
    return program


def table_shape(database: Path, table: str) -> tuple:
    """A table's columns (name, type, not null, key position) and its indexes' columns, read from SQLite."""
    with closing(sqlite3.connect(database)) as db:
        columns = [(name, kind, not_null, key) for _, name, kind, not_null, _, key in db.execute(f"PRAGMA table_info({table})")]
        indexes = sorted(
            (unique, tuple(column for _, _, column in db.execute(f"PRAGMA index_info('{name}')")))
            for _, name, unique, _, _ in db.execute(f"PRAGMA index_list({table})")
        )
        without_rowid = "WITHOUT ROWID" in db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    return columns, indexes, without_rowid


def test_sqlite_commit_floor_commits_on_parleys_own_messages_table(start_parley, tmp_path):
    """benchmarks/sqlite_commit_floor.c measures the store's floor on a copy of Parley's `messages` table: when the
    schema changes, so must the benchmark, or its figures stop being the floor under Parley's."""
    parley_db = tmp_path / "parley.sqlite"
    node = start_parley(db=parley_db)
    assert node.stop() == 0, node.stderr()
    program = compile_sqlite_commit_floor(tmp_path)
    floor_db = tmp_path / "floor.sqlite"
    result = subprocess.run([str(program), str(floor_db), "0", "2", "20"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.search(r"0 commits/s +2 msg/commit: +[\d.]+ us CPU per commit, .* p99 [\d.]+ ms", result.stdout), result.stdout
    assert table_shape(floor_db, "messages") == table_shape(parley_db, "messages")
    with closing(sqlite3.connect(floor_db)) as db:
        assert db.execute("SELECT COUNT(*), MIN(room_offset), MAX(room_offset) FROM messages").fetchone() == (40, 1, 40)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_commit_floor_says_how_to_call_it(tmp_path):
    program = compile_sqlite_commit_floor(tmp_path)
    for args, says in [
        ([], "usage: "),
        ([str(tmp_path / "floor.sqlite"), "100", "0", "100"], "MESSAGES_PER_COMMIT >= 1"),
        ([str(tmp_path / "floor.sqlite"), "-1", "1", "100"], "COMMITS_PER_SECOND >= 0"),
    ]:
        result = subprocess.run([str(program), *args], capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and says in result.stderr, (args, result.stderr)
    assert not (tmp_path / "floor.sqlite").exists()
