"""A Server-Sent Events client for the tests, reading a real /api/v1/events stream the way a browser's EventSource
does: events split on blank lines, `id:` remembered as the last event id, comments seen (for heartbeats)."""

import http.client
import json
import queue
import socket
import threading
import time


class EventStream:
    def __init__(self, node, rooms: str, headers: dict | None = None, last_event_id: str | None = None):
        self.connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=15)
        all_headers = {"Accept": "text/event-stream", **(headers or {})}
        if last_event_id is not None:
            all_headers["Last-Event-ID"] = last_event_id
        self.connection.request("GET", f"/api/v1/events?rooms={rooms}", headers=all_headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        self.last_event_id: str | None = last_event_id
        self.comments: list[str] = []
        self.retry: int | None = None
        # Lines are read by a thread: a socket read that timed out cannot be resumed.
        self.lines: queue.Queue[str | None] = queue.Queue()
        if self.status == 200:
            self.connection.sock.settimeout(None)
            threading.Thread(target=self._read_lines, daemon=True).start()

    def _read_lines(self) -> None:
        try:
            while raw := self.response.readline():
                self.lines.put(raw.decode().rstrip("\n"))
        except Exception:  # the socket closed under the reader: the stream is over either way
            pass
        self.lines.put(None)

    def error(self) -> dict:
        """The JSON error of a refused stream."""
        return json.loads(self.response.read())

    def next_event(self, timeout: float = 10) -> tuple[str, dict] | None:
        """The next event as (type, data), or None when the server ended the stream; TimeoutError when none came
        within `timeout` seconds (comments do not count)."""
        deadline = time.monotonic() + timeout
        fields: dict[str, str] = {}
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no event within {timeout} s")
            if line is None:
                self.lines.put(None)
                return None
            if line == "":
                if "data" in fields:
                    if "id" in fields:
                        self.last_event_id = fields["id"]
                    return fields.get("event", "message"), json.loads(fields["data"])
                fields = {}
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "retry":
                self.retry = int(value)
            elif name == "data" and "data" in fields:
                fields["data"] += "\n" + value
            else:
                fields[name] = value

    def next(self, type: str, timeout: float = 10, **matching) -> dict:
        """The next event of `type` whose data has `matching` fields, skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                event = self.next_event(max(0.0, remaining))
            except TimeoutError:
                raise AssertionError(f"no {type} {matching} within {timeout} s")
            assert event is not None, f"the stream ended before a {type} {matching}"
            if event[0] == type and all(event[1].get(k) == v for k, v in matching.items()):
                return event[1]

    def messages_until_quiet(self, quiet: float = 1.0) -> list[dict]:
        """Every `message` event until no event has come for `quiet` seconds (or the stream ended)."""
        messages = []
        while True:
            try:
                event = self.next_event(quiet)
            except TimeoutError:
                return messages
            if event is None:
                return messages
            if event[0] == "message":
                messages.append(event[1])

    def close(self):
        """Closes the connection at once (the response holds the socket too)."""
        try:
            self.connection.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.response.close()
        self.connection.close()
