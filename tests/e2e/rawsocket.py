"""A WebSocket client made by hand over a plain socket, for what a well-behaved library will not do: stop reading,
send unmasked or malformed frames, or garbage."""

import base64
import os
import socket
import struct


class RawClient:
    def __init__(self, port: int, subprotocol: str | None = "parley.v1", receive_buffer: int | None = None,
                 origin: str | None = None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET /ws HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if subprotocol:
            lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
        if origin:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            response += chunk
        assert response.startswith(b"HTTP/1.1 101"), response
        self.buffer = b""

    @staticmethod
    def frame(opcode: int, payload: bytes, fin: bool = True, mask: bool = True, rsv: int = 0) -> bytes:
        first = (0x80 if fin else 0) | (rsv << 4) | opcode
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", first, (0x80 if mask else 0) | length)
        elif length < 65536:
            header = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, length)
        else:
            header = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, length)
        if not mask:
            return header + payload
        key = os.urandom(4)
        return header + key + bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))

    def send_frame(self, opcode: int, payload: bytes, **options) -> None:
        self.sock.sendall(self.frame(opcode, payload, **options))

    def send_text(self, text: str) -> None:
        self.send_frame(0x1, text.encode())

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def next_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame from the server; EOFError when the connection ends."""
        first, second = self._read(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read(8))
        return first & 0x0F, self._read(length)

    def close_code(self) -> int | None:
        """Reads until a close frame (its code) or the end of the connection (None); fails after the timeout."""
        try:
            while True:
                opcode, payload = self.next_frame()
                if opcode == 0x8:
                    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        except (EOFError, ConnectionResetError):
            return None
        except TimeoutError:
            raise AssertionError("the server neither closed nor answered within the timeout")

    def close(self) -> None:
        self.sock.close()
