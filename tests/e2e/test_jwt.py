"""Tokens from the application Parley is embedded in (shared/contracts/identity.md, "JWT"): every algorithm the
contract names, and every refusal — alg none, a wrong key, an algorithm that does not match the key, expired and
not-yet-valid tokens, the wrong issuer or audience — each answered unauthorized and 4001."""

import asyncio
import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from identity import FAST_PASSWORDS, bearer, call, close_code, connect, hello, parley, reply_to

SECRET = "an HS256 secret of well over thirty-two bytes"


def public_pem(private_key) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def keys(tmp_path):
    """Key files for every algorithm, and the private keys that sign for them."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    files = {
        "HS256": (tmp_path / "secret.txt", SECRET.encode() + b"\n", SECRET),
        "RS256": (tmp_path / "rsa.pem", public_pem(rsa_key), rsa_key),
        "ES256": (tmp_path / "ec.pem", public_pem(ec_key), ec_key),
        "EdDSA": (tmp_path / "ed25519.pem", public_pem(ed_key), ed_key),
    }
    for path, contents, _ in files.values():
        path.write_bytes(contents)
    return {algorithm: (str(path), signer) for algorithm, (path, _, signer) in files.items()}


def claims(sub: str = "u-42", **extra) -> dict:
    now = int(time.time())
    return {"sub": sub, "exp": now + 300, "iat": now, **extra}


def mint(keys, algorithm: str, payload: dict, headers: dict | None = None) -> str:
    return jwt.encode(payload, keys[algorithm][1], algorithm=algorithm, headers=headers)


@pytest.fixture
def node(start_parley, keys):
    arguments = [argument for algorithm in keys for argument in ("--jwt-key", keys[algorithm][0])]
    return start_parley(*arguments, "--jwt-issuer", "https://app.example", "--jwt-audience", "parley", *FAST_PASSWORDS)


def outcome(node, token: str) -> dict:
    async def scenario():
        async with await connect(node.ws_url) as ws:
            reply = await hello(ws, None, token=token)
            if reply["type"] == "error":
                reply["closed"] = await close_code(ws)
            return reply

    return asyncio.run(scenario())


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "ES256", "EdDSA"])
def test_a_token_signed_with_each_trusted_key_is_the_user_its_sub_names(node, keys, algorithm):
    token = mint(keys, algorithm, claims("u-42", name="Ana from the app", iss="https://app.example", aud="parley"))
    welcome = outcome(node, token)
    assert welcome["type"] == "welcome", welcome
    assert welcome["user"] == {"id": "u-42", "name": "Ana from the app", "guest": False}
    assert welcome["expiresAt"].endswith("Z")
    me = call(node, "GET", "/api/v1/me", headers=bearer(token))
    assert me.body["user"]["id"] == "u-42"


def hmac_sha256_token(header: dict, secret: bytes) -> str:
    """A token whose header says what the caller wants, signed with HMAC-SHA256 whatever the header says."""
    encoded_header = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims(iss="https://app.example", aud="parley")).encode()).rstrip(b"=")
    signature = base64.urlsafe_b64encode(hmac.new(secret, encoded_header + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
    return (encoded_header + b"." + body + b"." + signature).decode()


def forged_hs256_with_the_rsa_public_key(keys) -> str:
    """The classic confusion: HS256 'signed' with the RSA public key's PEM as the secret."""
    return hmac_sha256_token({"alg": "HS256", "typ": "JWT"}, open(keys["RS256"][0], "rb").read())


def hs256_signature_under_another_algorithms_name(keys) -> str:
    """Signed with the trusted HS256 secret, but the header names HS384: the algorithm does not match the key's."""
    return hmac_sha256_token({"alg": "HS384", "typ": "JWT"}, SECRET.encode())


@pytest.mark.parametrize(
    "what, make",
    [
        ("alg none", lambda keys: jwt.encode(claims(iss="https://app.example", aud="parley"), None, algorithm="none")),
        ("a wrong key", lambda keys: jwt.encode(claims(iss="https://app.example", aud="parley"), "another secret that is long enough!!", algorithm="HS256")),
        ("an algorithm that does not match the key (HS384 with the HS256 secret)",
         lambda keys: jwt.encode(claims(iss="https://app.example", aud="parley"), SECRET, algorithm="HS384")),
        ("HS256 signed with the RSA public key", forged_hs256_with_the_rsa_public_key),
        ("the key's signature under another algorithm's name", hs256_signature_under_another_algorithms_name),
        ("an expired token", lambda keys: mint(keys, "HS256", {**claims(iss="https://app.example", aud="parley"), "exp": int(time.time()) - 5})),
        ("a token not valid yet", lambda keys: mint(keys, "HS256", claims(iss="https://app.example", aud="parley", nbf=int(time.time()) + 600))),
        ("a token issued in the future", lambda keys: mint(keys, "HS256", {**claims(iss="https://app.example", aud="parley"), "iat": int(time.time()) + 600})),
        ("the wrong issuer", lambda keys: mint(keys, "HS256", claims(iss="https://evil.example", aud="parley"))),
        ("the wrong audience", lambda keys: mint(keys, "HS256", claims(iss="https://app.example", aud="someone-else"))),
        ("no sub", lambda keys: mint(keys, "HS256", {k: v for k, v in claims(iss="https://app.example", aud="parley").items() if k != "sub"})),
        ("no exp", lambda keys: mint(keys, "HS256", {k: v for k, v in claims(iss="https://app.example", aud="parley").items() if k != "exp"})),
        ("a tampered payload", lambda keys: (lambda t: t.split(".")[0] + "." + base64.urlsafe_b64encode(json.dumps(claims("admin", iss="https://app.example", aud="parley")).encode()).rstrip(b"=").decode() + "." + t.split(".")[2])(mint(keys, "HS256", claims(iss="https://app.example", aud="parley")))),
        ("not a token", lambda keys: "not.a.token"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_every_bad_token_is_unauthorized_and_closes_with_4001(node, keys, what, make):
    token = make(keys)
    reply = outcome(node, token)
    assert (reply["type"], reply.get("code"), reply.get("closed")) == ("error", "unauthorized", 4001), what
    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(connect(node.ws_url, bearer(token)))
    assert refused.value.response.status_code == 401, what
    assert token not in node.stderr()


def test_leeway_lets_in_a_token_whose_nbf_is_seconds_ahead(node, keys):
    token = mint(keys, "HS256", claims(iss="https://app.example", aud="parley", nbf=int(time.time()) + 30))
    assert outcome(node, token)["type"] == "welcome"


def test_a_jwt_is_refreshed_on_a_live_connection_and_its_expiry_closes_it(node, keys):
    def token(seconds: int, sub: str = "u-7") -> str:
        return mint(keys, "ES256", {**claims(sub, iss="https://app.example", aud="parley"), "exp": int(time.time()) + seconds})

    async def scenario():
        async with await connect(node.ws_url, bearer(token(3))) as lapsing, await connect(node.ws_url) as renewed:
            assert (await hello(lapsing))["user"]["id"] == "u-7"
            await hello(renewed, token=token(3))
            await renewed.send(json.dumps({"type": "refresh", "token": token(600), "ref": "r"}))
            refreshed = await reply_to(renewed, "r")
            assert refreshed["type"] == "refreshed"
            started = time.monotonic()
            assert await close_code(lapsing) == 4001
            assert time.monotonic() - started < 6
            await renewed.send(json.dumps({"type": "refresh", "token": token(600, sub="someone-else"), "ref": "other"}))
            assert (await reply_to(renewed, "other"))["code"] == "unauthorized"
            assert await close_code(renewed) == 4001

    asyncio.run(scenario())


def test_key_files_that_cannot_be_used_end_serve_naming_them(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("too short")
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")
    for path, said in ((tmp_path / "missing.pem", "cannot read"), (short, "shorter than 32"), (broken, "not a PEM public key")):
        result = parley("serve", "--port", "0", "--db", str(tmp_path / "x.sqlite"), "--jwt-key", str(path))
        assert result.returncode != 0 and said in result.stderr and str(path) in result.stderr
    lonely = parley("serve", "--port", "0", "--db", str(tmp_path / "x.sqlite"), "--jwt-issuer", "https://app.example")
    assert lonely.returncode != 0 and "--jwt-key" in lonely.stderr
