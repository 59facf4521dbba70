"""parley-bench runs a small case against the real server and reports no loss (a check that it works, not a speed)."""

import json
import subprocess

from conftest import BINARY, free_port

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
