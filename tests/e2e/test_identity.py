"""Who is who (shared/contracts/identity.md): accounts over HTTP, session tokens, guests, expiry, revocation, the
`parley users` command, and every refusal the contract lists."""

import asyncio
import json
import statistics
import time

import pytest
import websockets

from identity import (FAST_PASSWORDS, bearer, call, close_code, connect, hello, login, parley, register, reply_to,
                      token_for)
from metrics import metrics


@pytest.fixture
def node(start_parley):
    return start_parley(*FAST_PASSWORDS)


def test_an_account_is_created_with_the_contracts_answers_and_refusals(node, start_parley):
    created = register(node, "Ana", name="Ana Lúcia")
    assert created.status == 201
    assert created.body == {"user": {"id": "ana", "name": "Ana Lúcia", "guest": False}}
    assert register(node, "bea").body == {"user": {"id": "bea", "name": "bea", "guest": False}}
    for user, password, status, code in [
        ("ANA", "another password", 409, "user_taken"),
        ("ana lúcia", "correct horse battery", 400, "invalid_name"),
        ("x" * 33, "correct horse battery", 400, "invalid_name"),
        ("", "correct horse battery", 400, "invalid_name"),
        ("cid", "short", 400, "weak_password"),
        ("cid", "p" * 257, 400, "weak_password"),
    ]:
        reply = register(node, user, password)
        assert (reply.status, reply.code) == (status, code), user
        assert reply.body["error"]["message"]
    closed = start_parley("--registration", "closed", *FAST_PASSWORDS)
    reply = register(closed, "dan")
    assert (reply.status, reply.code) == (403, "registration_closed")


@pytest.mark.parametrize(
    "what, raw, headers, status, code",
    [
        ("not JSON", b"user=ana", {}, 400, "bad_request"),
        ("a JSON array", b"[]", {}, 400, "bad_request"),
        ("a field of the wrong type", b'{"user": 5, "password": "correct horse"}', {}, 400, "bad_request"),
        ("a missing field", b'{"user": "ana"}', {}, 400, "bad_request"),
        ("a form's content type", b'{"user":"ana","password":"correct horse"}', {"Content-Type": "text/plain"}, 400, "bad_request"),
        ("a body over 16 KiB", b'{"user":"ana","password":"' + b"p" * 20_000 + b'"}', {}, 413, "too_large"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_malformed_and_oversized_bodies_get_400_and_413_never_500(node, what, raw, headers, status, code):
    for path in ("/api/v1/accounts", "/api/v1/login"):
        reply = call(node, "POST", path, raw=raw, headers=headers)
        assert (reply.status, reply.code) == (status, code), f"{what} on {path}"


def test_login_sets_an_httponly_session_cookie_and_me_tells_who_it_is(node):
    register(node, "ana", name="Ana")
    reply = login(node, "ANA")
    assert reply.status == 200
    assert reply.body["user"] == {"id": "ana", "name": "Ana", "guest": False}
    token = reply.body["token"]
    assert len(token) >= 40 and reply.body["expiresAt"].endswith("Z")
    cookie = reply.headers["Set-Cookie"]
    assert cookie.startswith(f"parley_session={token};")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    assert "Secure" not in cookie  # no TLS here; test_tls checks it under TLS
    assert call(node, "GET", "/api/v1/me", headers=bearer(token)).body["user"]["id"] == "ana"
    assert call(node, "GET", "/api/v1/me", headers={"Cookie": f"parley_session={token}"}).body["user"]["id"] == "ana"
    anonymous = call(node, "GET", "/api/v1/me")
    assert (anonymous.status, anonymous.code) == (401, "unauthorized")
    forged = call(node, "GET", "/api/v1/me", headers=bearer("pst_" + "A" * 43))
    assert (forged.status, forged.code) == (401, "unauthorized")


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer_in_the_same_time(start_parley):
    # A work factor high enough that a hash takes milliseconds: skipping it for unknown users would show.
    node = start_parley("--password-cost", "9")
    register(node, "ana")
    wrong = login(node, "ana", "not the password")
    unknown = login(node, "nobody", "not the password")
    assert (wrong.status, wrong.body) == (unknown.status, unknown.body) == (401, wrong.body)
    assert wrong.code == "unauthorized"

    def timed(user: str) -> float:
        started = time.perf_counter()
        login(node, user, "not the password")
        return time.perf_counter() - started

    # Alternating, and few enough not to reach the throttle (5 failures per name, 20 per address a minute).
    samples = [(timed("ana"), timed(f"nobody{index}")) for index in range(4)]
    wrong_median = statistics.median(sample[0] for sample in samples)
    unknown_median = statistics.median(sample[1] for sample in samples)
    assert unknown_median > 0.5 * wrong_median, f"unknown user {unknown_median * 1000:.1f} ms, wrong password {wrong_median * 1000:.1f} ms"


def test_password_guessing_is_throttled_per_name_and_per_address(node):
    register(node, "ana")
    for _ in range(5):
        assert login(node, "ana", "guess guess").status == 401
    throttled = login(node, "ana", "correct horse battery")
    assert (throttled.status, throttled.code) == (429, "rate_limited")
    assert 1 <= int(throttled.headers["Retry-After"]) <= 61
    # Another name from the same address is still let through …
    register(node, "bea")
    assert login(node, "bea").status == 200
    # … until the address has failed 20 times in the minute (5 for ana so far).
    for index in range(15):
        login(node, f"guesser{index}", "guess guess")
    blocked = login(node, "bea")
    assert (blocked.status, blocked.code) == (429, "rate_limited")
    # The operator sees the guessing: counted by outcome, and logged with the name and address.
    counted = metrics(node)
    assert counted['parley_sign_ins_total{outcome="ok"}'] == 1
    assert counted['parley_sign_ins_total{outcome="refused"}'] == 20
    assert counted['parley_sign_ins_total{outcome="throttled"}'] == 2
    throttled_lines = [line for line in node.stderr().splitlines() if "throttled sign-ins" in line]
    assert len(throttled_lines) == 2 and "user=ana" in throttled_lines[0] and "127.0.0.1" in throttled_lines[0]


def test_hello_with_a_token_speaks_for_the_account_and_a_bad_token_closes_with_4001(node):
    token = token_for(node, "ana", name="Ana")

    async def scenario():
        async with await connect(node.ws_url) as ws:
            welcome = await hello(ws, "whatever", token=token)
            assert welcome["type"] == "welcome"
            assert welcome["user"] == {"id": "ana", "name": "Ana", "guest": False}
            assert welcome["expiresAt"].endswith("Z")
        async with await connect(node.ws_url) as ws:
            # With a token, a hello needs no name at all.
            assert (await hello(ws, None, token=token))["user"]["id"] == "ana"
        async with await connect(node.ws_url) as ws:
            # Without a credential it does: a guest needs a name.
            nameless = await hello(ws, None, ref="nameless")
            assert (nameless["type"], nameless["code"], nameless["ref"]) == ("error", "bad_request", "nameless")
            assert (await hello(ws, "Guest Ana"))["user"] == {"id": "guest:Guest Ana", "name": "Guest Ana", "guest": True}
        async with await connect(node.ws_url) as ws:
            refused = await hello(ws, "whatever", token="pst_nothing", ref="bad")
            assert (refused["type"], refused["code"], refused["ref"]) == ("error", "unauthorized", "bad")
            assert await close_code(ws) == 4001
        async with await connect(node.ws_url) as ws:
            refused = await hello(ws, "whatever", token="eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbmEifQ.", ref="jwt")
            assert refused["code"] == "unauthorized"
            assert await close_code(ws) == 4001

    asyncio.run(scenario())


def test_credentials_at_the_upgrade_bearer_or_cookie_and_never_in_the_url(node):
    token = token_for(node, "ana", name="Ana")

    async def scenario():
        for headers in (bearer(token), {"Cookie": f"theme=dark; parley_session={token}"}):
            async with await connect(node.ws_url, headers) as ws:
                # Authenticated at the upgrade: hello needs no token and its name is ignored.
                welcome = await hello(ws, "Somebody Else")
                assert welcome["user"] == {"id": "ana", "name": "Ana", "guest": False}
            async with await connect(node.ws_url, headers) as ws:
                assert (await hello(ws, None))["user"]["id"] == "ana"
        for headers in (bearer("pst_nothing"), {"Cookie": "parley_session=pst_nothing"}):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await connect(node.ws_url, headers)
            assert refused.value.response.status_code == 401
            assert json.loads(refused.value.response.body)["error"]["code"] == "unauthorized"
        for query in (f"token={token}", f"access_token={token}"):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await connect(f"{node.ws_url}?{query}")
            assert refused.value.response.status_code == 400

    asyncio.run(scenario())
    assert token not in node.stderr()
    me = call(node, "GET", f"/api/v1/me?token={token}")
    assert me.status == 400


def test_guests_cannot_take_an_accounts_name_in_any_case_or_compatibility_form(node):
    register(node, "ana", name="Ana Lúcia")
    register(node, "strasse", name="Straße")

    async def scenario():
        async with await connect(node.ws_url) as ws:
            for taken in ("ana", "ANA", "Ａｎａ", "ana lúcia", "ＡＮＡ ＬÚＣＩＡ", "STRASSE", "straße"):
                refused = await hello(ws, taken, ref=taken)
                assert (refused["type"], refused["code"]) == ("error", "name_taken"), taken
            # The connection stays: a free name is a guest.
            welcome = await hello(ws, "Ana Maria", ref="free")
            assert welcome["user"] == {"id": "guest:Ana Maria", "name": "Ana Maria", "guest": True}

    asyncio.run(scenario())


def test_with_guests_off_only_credentials_get_in(start_parley):
    node = start_parley("--guests", "off", *FAST_PASSWORDS)
    token = token_for(node, "ana")

    async def scenario():
        async with await connect(node.ws_url) as ws:
            refused = await hello(ws, "guest", ref="g")
            assert (refused["code"], refused["ref"]) == ("unauthorized", "g")
            assert await close_code(ws) == 4001
        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect(node.ws_url, subprotocol=False)
        assert refused.value.response.status_code == 401
        # A plain client that authenticates at the upgrade chats, and its messages carry its identity.
        async with await connect(node.ws_url, bearer(token), subprotocol=False) as plain, await connect(node.ws_url) as modern:
            await hello(modern, token=token)
            await modern.send(json.dumps({"type": "join", "room": "lobby", "ref": "j"}))
            await reply_to(modern, "j")
            await plain.send("olá do modo simples")
            assert await plain.recv() == "Mensagem recebida: olá do modo simples"
            while (event := json.loads(await modern.recv()))["type"] != "message":
                pass
            assert (event["from"], event["fromId"], event["text"]) == ("ana", "ana", "olá do modo simples")
    asyncio.run(scenario())
    assert call(node, "GET", "/api/v1/auth").body == {"guests": False, "registration": "open"}


def test_people_with_the_same_display_name_are_told_apart_and_idempotency_is_per_user(node):
    first = token_for(node, "ana1", name="Ana")
    second = token_for(node, "ana2", name="Ana")

    async def scenario():
        async with await connect(node.ws_url) as one, await connect(node.ws_url) as two:
            await hello(one, token=first)
            await hello(two, token=second)
            await one.send(json.dumps({"type": "join", "room": "twins", "ref": "j"}))
            await reply_to(one, "j")
            await two.send(json.dumps({"type": "join", "room": "twins", "ref": "j"}))
            joined = await reply_to(two, "j")
            assert joined["members"] == ["Ana", "Ana"]
            assert joined["users"] == [{"id": "ana1", "name": "Ana"}, {"id": "ana2", "name": "Ana"}]
            presence = json.loads(await one.recv())
            assert presence == {"type": "presence", "room": "twins", "event": "join", "user": "Ana", "userId": "ana2"}
            # The same client id from two users is two messages; from the same user again, the original ack.
            acks = []
            for ws, ref in ((one, "a"), (two, "b"), (one, "c")):
                await ws.send(json.dumps({"type": "send", "room": "twins", "text": f"from {ref}", "id": "same-id", "ref": ref}))
                acks.append((await reply_to(ws, ref))["offset"])
            assert acks == [1, 2, 1]
            await two.send(json.dumps({"type": "typing", "room": "twins"}))
            while (event := json.loads(await one.recv()))["type"] != "typing":
                pass
            assert event == {"type": "typing", "room": "twins", "from": "Ana", "fromId": "ana2"}

    asyncio.run(scenario())


def test_a_signed_in_users_connections_share_one_allowance_even_with_address_limits_off(start_parley):
    # As behind a proxy: no per-address limits, so only the per-user ones stand between one account and the server.
    node = start_parley("--address-rate-limit", "0", "--address-text-rate", "0", "--user-rate-limit", "0.05:6",
                        "--user-text-rate", "1:1000", *FAST_PASSWORDS)
    ana, bea = token_for(node, "ana"), token_for(node, "bea")

    async def pings(ws, count: int, prefix: str) -> list[str]:
        for index in range(count):
            await ws.send(json.dumps({"type": "ping", "ref": f"{prefix}{index}"}))
        answers = []
        for _ in range(count):
            event = json.loads(await ws.recv())
            answers.append(event["type"] if event["type"] == "pong" else event["code"])
        return answers

    async def scenario():
        async with await connect(node.ws_url) as one, await connect(node.ws_url) as two, \
                await connect(node.ws_url) as other_user, await connect(node.ws_url) as guest:
            for ws, token in ((one, ana), (two, ana), (other_user, bea)):
                assert (await hello(ws, None, token=token))["type"] == "welcome"
            assert (await hello(guest, "Visitor"))["type"] == "welcome"
            # Six commands for all of Ana's connections (a seventh in 20 s), from either connection, then she is limited.
            answers = await pings(one, 3, "a") + await pings(two, 3, "b") + await pings(one, 1, "c") + await pings(two, 1, "d")
            assert answers == ["pong"] * 6 + ["rate_limited"] * 2
            # Nobody else pays for it.
            assert await pings(other_user, 3, "e") == ["pong"] * 3
            assert await pings(guest, 3, "f") == ["pong"] * 3
            # Stored text too: 1,000 bytes in a burst for all of Bea's connections.
            await other_user.send(json.dumps({"type": "join", "room": "quota", "ref": "j"}))
            await reply_to(other_user, "j")
            await other_user.send(json.dumps({"type": "send", "room": "quota", "text": "x" * 900, "id": "big-1", "ref": "s1"}))
            assert (await reply_to(other_user, "s1"))["type"] == "ack"
            await other_user.send(json.dumps({"type": "send", "room": "quota", "text": "x" * 900, "id": "big-2", "ref": "s2"}))
            refused = await reply_to(other_user, "s2")
            assert refused["code"] == "rate_limited" and "text" in refused["message"]

    asyncio.run(scenario())


def test_refresh_extends_a_live_connection_and_a_token_for_another_user_closes_it(node):
    ana = token_for(node, "ana")
    again = login(node, "ana").body["token"]
    bea = token_for(node, "bea")

    async def scenario():
        async with await connect(node.ws_url) as ws:
            await hello(ws, token=ana)
            await ws.send(json.dumps({"type": "refresh", "token": again, "ref": "r1"}))
            refreshed = await reply_to(ws, "r1")
            assert refreshed["type"] == "refreshed" and refreshed["expiresAt"].endswith("Z")
            await ws.send(json.dumps({"type": "refresh", "token": bea, "ref": "r2"}))
            refused = await reply_to(ws, "r2")
            assert (refused["type"], refused["code"]) == ("error", "unauthorized")
            assert await close_code(ws) == 4001

    asyncio.run(scenario())


def test_an_expired_session_closes_its_connections_with_4001_unless_refreshed(start_parley):
    node = start_parley("--session-days", "0.00004", *FAST_PASSWORDS)  # 3.5 s
    token = token_for(node, "ana")

    async def scenario():
        async with await connect(node.ws_url) as lapsing, await connect(node.ws_url) as renewed:
            await hello(lapsing, token=token)
            await hello(renewed, token=token)
            started = time.monotonic()
            await asyncio.sleep(2)
            await renewed.send(json.dumps({"type": "refresh", "token": login(node, "ana").body["token"], "ref": "r"}))
            assert (await reply_to(renewed, "r"))["type"] == "refreshed"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(lapsing.recv(), 10)
            assert closed.value.rcvd.code == 4001 and closed.value.rcvd.reason == "token expired"
            assert 2.5 < time.monotonic() - started < 7
            await renewed.send(json.dumps({"type": "ping", "ref": "still"}))
            assert (await reply_to(renewed, "still"))["type"] == "pong"

    asyncio.run(scenario())
    reply = call(node, "GET", "/api/v1/me", headers=bearer(token))
    assert reply.status == 401


def test_logout_revokes_the_token_at_once_and_closes_its_connections(node):
    token = token_for(node, "ana")
    other = login(node, "ana").body["token"]

    async def scenario():
        async with await connect(node.ws_url) as signed_out, await connect(node.ws_url) as other_session:
            await hello(signed_out, token=token)
            await hello(other_session, token=other)
            started = time.monotonic()
            reply = call(node, "POST", "/api/v1/logout", headers=bearer(token))
            assert reply.status == 204
            assert "Max-Age=0" in reply.headers["Set-Cookie"]
            assert call(node, "GET", "/api/v1/me", headers=bearer(token)).status == 401
            assert await close_code(signed_out) == 4001
            assert time.monotonic() - started < 5
            await other_session.send(json.dumps({"type": "ping", "ref": "p"}))
            assert (await reply_to(other_session, "p"))["type"] == "pong"

    asyncio.run(scenario())
    assert call(node, "POST", "/api/v1/logout").status == 401


def test_a_session_cookie_cannot_be_used_from_another_sites_page(node):
    token = token_for(node, "ana")
    cookie = {"Cookie": f"parley_session={token}"}
    refused = call(node, "POST", "/api/v1/logout", headers={**cookie, "Origin": "https://evil.example"})
    assert (refused.status, refused.code) == (403, "forbidden")
    assert call(node, "GET", "/api/v1/me", headers=cookie).status == 200
    assert call(node, "POST", "/api/v1/logout", headers={**cookie, "Origin": node.http_url}).status == 204


def test_the_users_command_manages_accounts_and_takes_effect_on_a_running_server(node):
    db = str(node.db)
    added = parley("users", "add", "Ana", "--name", "Ana Lúcia", "--admin", "--password-stdin", "--db", db, stdin="first password\n")
    assert added.returncode == 0, added.stderr
    assert "added ana" in added.stdout
    duplicate = parley("users", "add", "ana", "--password-stdin", "--db", db, stdin="first password\n")
    assert duplicate.returncode != 0 and "taken" in duplicate.stderr
    weak = parley("users", "add", "bea", "--password-stdin", "--db", db, stdin="short\n")
    assert weak.returncode != 0 and "8 to 256" in weak.stderr
    no_stdin_flag = parley("users", "add", "bea", "--db", db)
    assert no_stdin_flag.returncode != 0 and "--password-stdin" in no_stdin_flag.stderr
    listed = parley("users", "list", "--db", db)
    assert "ana\tAna Lúcia\tadmin" in listed.stdout
    token = login(node, "ana", "first password").body["token"]

    async def scenario():
        async with await connect(node.ws_url) as ws:
            await hello(ws, token=token)
            started = time.monotonic()
            changed = parley("users", "set-password", "ana", "--password-stdin", "--db", db, stdin="second password\n")
            assert changed.returncode == 0, changed.stderr
            assert await close_code(ws) == 4001
            assert time.monotonic() - started < 5
        assert login(node, "ana", "first password").status == 401
        fresh = login(node, "ana", "second password").body["token"]
        async with await connect(node.ws_url) as ws:
            await hello(ws, token=fresh)
            started = time.monotonic()
            assert parley("users", "disable", "ana", "--db", db).returncode == 0
            assert await close_code(ws) == 4001
            assert time.monotonic() - started < 5
        assert login(node, "ana", "second password").status == 401
        assert call(node, "GET", "/api/v1/me", headers=bearer(fresh)).status == 401
        assert "disabled" in parley("users", "list", "--db", db).stdout
        missing = parley("users", "disable", "nobody", "--db", db)
        assert missing.returncode != 0 and "no account nobody" in missing.stderr

    asyncio.run(scenario())


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_password_token_or_cookie_value_reaches_any_log_line(start_parley, log_format):
    node = start_parley("--log-level", "trace", "--log-format", log_format, *FAST_PASSWORDS)
    password = "swordfish-very-secret"
    token = token_for(node, "ana", password)
    login(node, "ana", "wrong-guess-secret")
    login(node, "nobody", "another-guess-secret")
    call(node, "GET", "/api/v1/me", headers={"Cookie": f"parley_session={token}"})
    call(node, "GET", f"/api/v1/me?token={token}")

    async def scenario():
        async with await connect(node.ws_url, {"Cookie": f"parley_session={token}"}) as ws:
            await hello(ws)
            await ws.send(json.dumps({"type": "refresh", "token": token, "ref": "r"}))
            await reply_to(ws, "r")
        async with await connect(node.ws_url) as ws:
            await hello(ws, token="pst_forged-token-secret")
        with pytest.raises(websockets.InvalidStatus):
            await connect(f"{node.ws_url}?token={token}")

    asyncio.run(scenario())
    call(node, "POST", "/api/v1/logout", headers=bearer(token))
    assert node.stop() == 0
    log = node.stderr()
    assert log, "the server should have logged something at trace level"
    for secret in (password, "wrong-guess-secret", "another-guess-secret", token, token[4:], "forged-token-secret"):
        assert secret not in log, f"a secret reached the {log_format} log"
