"""Fixtures that run the real `parley` binary on a free port with its own database (a SQLite file, or a fresh
PostgreSQL database on the server that scripts/test.sh starts)."""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("PARLEY_BIN", ROOT / ".build" / "debug" / "parley"))


class Parley:
    """One `parley serve` process."""

    def __init__(self, db: Path | str, *args: str, env: dict | None = None, port: int = 0, log: Path | None = None,
                 prefix: tuple[str, ...] = ()):
        self.db = db
        self.prefix = prefix
        self.requested_port = port
        self.args = args
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.stderr_path = log or Path(db).with_suffix(".stderr.log")

    def start(self) -> "Parley":
        self.process = subprocess.Popen(
            [*self.prefix, str(BINARY), "serve", "--port", str(self.requested_port), "--db", str(self.db), *self.args],
            stdout=subprocess.PIPE,
            stderr=open(self.stderr_path, "wb"),
            env={**os.environ, **self.env},
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"parley exited early: {self.stderr()}")
            match = re.search(r"listening on (https?)://([^\s]+):(\d+)", line)
            if match:
                self.scheme = match.group(1)
                self.port = int(match.group(3))
                return self
        raise AssertionError("parley did not print its listening line within 30 s")

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.scheme == 'https' else 'ws'}://127.0.0.1:{self.port}/ws"

    @property
    def http_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Sends `sig` and returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"parley did not exit within {timeout} s of {signal.Signals(sig).name}: {self.stderr()}")
        finally:
            if self.process.poll() is None:
                self.process.kill()


# How a Swift process that trapped (a failed precondition, a crash) ends; tests only ever send SIGTERM and SIGKILL.
CRASH_EXIT_CODES = {-signal.SIGILL, -signal.SIGTRAP, -signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS}


@pytest.fixture
def start_parley(tmp_path):
    """Starts `parley serve` processes; each is stopped with SIGTERM at the end and must exit 0."""
    started: list[Parley] = []

    def start(*args: str, db: Path | str | None = None, env: dict | None = None, port: int = 0,
              prefix: tuple[str, ...] = ()) -> Parley:
        """`prefix` runs the binary under another command (`prlimit …`)."""
        log = tmp_path / f"parley-{len(started)}.stderr.log"
        node = Parley(db or tmp_path / f"parley-{len(started)}.sqlite", *args, env=env, port=port, log=log, prefix=prefix).start()
        started.append(node)
        return node

    yield start
    for node in started:
        if node.process and node.process.poll() is None:
            assert delivery_gaps(node) == 0, f"a parley.v1 client was sent a message after a gap in its room: {node.stderr()}"
            assert node.stop() == 0, node.stderr()
        elif node.process and node.process.returncode in CRASH_EXIT_CODES:
            raise AssertionError(f"parley crashed ({signal.Signals(-node.process.returncode).name}): {node.stderr()}")


def delivery_gaps(node: Parley) -> float:
    """`parley_delivery_gaps_total` of a running node (0 where its metrics cannot be read: TLS, another host name)."""
    try:
        with urllib.request.urlopen(node.http_url + "/metrics", timeout=5) as response:
            lines = response.read().decode().splitlines()
    except Exception:
        return 0
    return sum(float(line.split()[-1]) for line in lines if line.startswith("parley_delivery_gaps_total"))


@pytest.fixture
def parley(start_parley) -> Parley:
    return start_parley()


POSTGRES_ADMIN_URL = os.environ.get("PARLEY_TEST_POSTGRES")


def psql(url: str, sql: str) -> str:
    """Runs SQL with psql and returns its unaligned output."""
    result = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if not POSTGRES_ADMIN_URL:
        pytest.fail("PARLEY_TEST_POSTGRES is not set: run the suite with scripts/test.sh, which starts PostgreSQL")
    name = f"parley_test_{uuid.uuid4().hex[:12]}"
    psql(POSTGRES_ADMIN_URL, f"CREATE DATABASE {name}")
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    psql(POSTGRES_ADMIN_URL, f"DROP DATABASE {name} WITH (FORCE)")


def free_port() -> int:
    """A port nothing listens on right now, for a server that must come back on the same address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


ARTIFACTS = ROOT / "test-artifacts"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def open_browser(request):
    """Opens Chromium windows on the chat; on failure each window's screenshot goes to test-artifacts/."""
    from browser import Person

    people: list[Person] = []

    def open_one(url: str, **options) -> Person:
        person = Person(url, **options)
        people.append(person)
        return person

    yield open_one
    failed = getattr(request.node, "report_call", None) is not None and request.node.report_call.failed
    for index, person in enumerate(people):
        if failed and person.driver is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            person.screenshot(ARTIFACTS / f"{request.node.name}-{index}.png")
        person.quit()
