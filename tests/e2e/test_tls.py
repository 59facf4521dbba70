"""Native TLS (shared/contracts/identity.md, "TLS"): HTTPS and WSS on one port, session cookies marked Secure, and a
certificate renewed with SIGHUP without dropping the open connections."""

import asyncio
import datetime
import ipaddress
import json
import signal
import ssl
import time
import urllib.request

import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from identity import FAST_PASSWORDS, hello, parley, reply_to


def write_certificate(folder, name: str) -> tuple[str, str, x509.Certificate]:
    """A self-signed certificate for 127.0.0.1 and localhost; returns the certificate and key paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(certificate_path), str(key_path), certificate


def trusting(*certificates: x509.Certificate) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.load_verify_locations(cadata="".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates))
    return context


def served_certificate(port: int, context: ssl.SSLContext) -> x509.Certificate:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def test_https_and_wss_on_one_port_with_secure_cookies(start_parley, tmp_path):
    certificate_path, key_path, certificate = write_certificate(tmp_path, "first")
    node = start_parley("--tls-cert", certificate_path, "--tls-key", key_path, *FAST_PASSWORDS)
    assert node.scheme == "https" and node.http_url.startswith("https://")
    context = trusting(certificate)
    with urllib.request.urlopen(node.http_url + "/healthz", context=context, timeout=10) as response:
        assert response.status == 200
    request = urllib.request.Request(
        node.http_url + "/api/v1/accounts", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"user": "ana", "password": "correct horse battery"}).encode(),
    )
    assert urllib.request.urlopen(request, context=context, timeout=10).status == 201
    request = urllib.request.Request(
        node.http_url + "/api/v1/login", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"user": "ana", "password": "correct horse battery"}).encode(),
    )
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        cookie = response.headers["Set-Cookie"]
        token = json.loads(response.read())["token"]
    assert "; Secure" in cookie and "HttpOnly" in cookie

    async def scenario():
        async with websockets.connect(node.ws_url, ssl=context, subprotocols=["parley.v1"]) as modern, \
                websockets.connect(node.ws_url, ssl=context) as plain:
            assert (await hello(modern, token=token))["user"]["id"] == "ana"
            await modern.send(json.dumps({"type": "join", "room": "lobby", "ref": "j"}))
            await reply_to(modern, "j")
            await plain.send("olá sobre TLS")
            assert await plain.recv() == "Mensagem recebida: olá sobre TLS"
        # Plain HTTP on the TLS port is not served.
        with pytest.raises(Exception):
            urllib.request.urlopen(f"http://127.0.0.1:{node.port}/healthz", timeout=5)

    asyncio.run(scenario())


def test_sighup_reloads_the_certificate_without_dropping_connections(start_parley, tmp_path):
    certificate_path, key_path, first = write_certificate(tmp_path, "first")
    node = start_parley("--tls-cert", certificate_path, "--tls-key", key_path)
    renewed_certificate, renewed_key, second = write_certificate(tmp_path, "second")
    context = trusting(first, second)

    async def scenario():
        async with websockets.connect(node.ws_url, ssl=context, subprotocols=["parley.v1"]) as ws:
            await hello(ws, "survivor")
            assert served_certificate(node.port, context).serial_number == first.serial_number
            # Renewal: the new pair replaces the files, then SIGHUP.
            open(certificate_path, "wb").write(open(renewed_certificate, "rb").read())
            open(key_path, "wb").write(open(renewed_key, "rb").read())
            node.process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while served_certificate(node.port, context).serial_number != second.serial_number:
                assert time.monotonic() < deadline, "the renewed certificate was not served after SIGHUP"
                await asyncio.sleep(0.1)
            await ws.send(json.dumps({"type": "ping", "ref": "after"}))
            assert (await reply_to(ws, "after"))["type"] == "pong"
            # A broken renewal keeps the certificate in use.
            open(certificate_path, "w").write("not a certificate")
            node.process.send_signal(signal.SIGHUP)
            await asyncio.sleep(0.5)
            assert served_certificate(node.port, context).serial_number == second.serial_number

    asyncio.run(scenario())
    assert "reloaded the TLS certificate" in node.stderr()
    assert "could not reload the TLS certificate" in node.stderr()


def test_tls_files_that_cannot_be_used_end_serve_naming_them(tmp_path):
    certificate_path, key_path, _ = write_certificate(tmp_path, "good")
    (tmp_path / "bad.crt").write_text("not a certificate")
    for args, said in [
        (["--tls-cert", str(tmp_path / "missing.crt"), "--tls-key", key_path], "--tls-cert"),
        (["--tls-cert", str(tmp_path / "bad.crt"), "--tls-key", key_path], "--tls-cert"),
        (["--tls-cert", certificate_path, "--tls-key", str(tmp_path / "missing.key")], "--tls-key"),
        (["--tls-cert", certificate_path], "--tls-key"),
    ]:
        result = parley("serve", "--port", "0", "--db", str(tmp_path / "x.sqlite"), *args)
        assert result.returncode != 0 and said in result.stderr, (args, result.stderr)


def test_sighup_without_tls_is_logged_and_the_server_carries_on(parley):
    async def scenario():
        async with websockets.connect(parley.ws_url, subprotocols=["parley.v1"]) as ws:
            await hello(ws, "steady")
            parley.process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while "nothing to reload" not in parley.stderr():
                assert time.monotonic() < deadline, "SIGHUP was not answered"
                await asyncio.sleep(0.1)
            await ws.send(json.dumps({"type": "ping", "ref": "after"}))
            assert (await reply_to(ws, "after"))["type"] == "pong"

    asyncio.run(scenario())
    assert parley.process.poll() is None
