"""The HTTP API answers exactly what its OpenAPI document says (shared/contracts/http-and-sse.md): schemathesis
generates requests for every operation against a running server, with a real API key holding every scope and a real
account in the database, and checks that no answer is a 5xx and every status, content type and body matches the
document. The event stream never ends, so it is left to tests/e2e/test_event_stream.py."""

import json
import subprocess
from pathlib import Path

import hypothesis
import pytest
import schemathesis

from conftest import BINARY, ROOT, Parley
from identity import FAST_PASSWORDS, bearer, call, register


@pytest.fixture(scope="module")
def api_node(tmp_path_factory):
    """One server for every operation, with an API key of every scope and an account."""
    folder = tmp_path_factory.mktemp("openapi")
    db = folder / "parley.sqlite"
    node = Parley(db, *FAST_PASSWORDS, "--rate-limit", "0", log=folder / "parley.stderr.log").start()
    created = subprocess.run([str(BINARY), "keys", "create", "fuzzer", "--scope", "read,publish,moderate", "--db", str(db)],
                             capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    assert register(node, "ana", name="Ana").status == 201
    yield node, created.stdout.strip()
    assert node.stop() == 0, node.stderr()


@pytest.fixture
def api_schema(api_node):
    node, _ = api_node
    return schemathesis.openapi.from_url(f"{node.http_url}/api/v1/openapi.json")


EXCLUDED_CHECKS = [schemathesis.checks.positive_data_acceptance, schemathesis.checks.ignored_auth]

schema = schemathesis.pytest.from_fixture("api_schema").exclude(operation_id="events")


@schema.parametrize()
@hypothesis.settings(max_examples=30, deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_answers_as_its_document_says_and_never_with_a_5xx(case, api_node):
    """Every check but "schema-valid data is accepted": JSON Schema cannot say what the server also checks (a text's
    16 KiB counts bytes, not characters; no U+0000; display names follow RFC 8266; a room must exist to be
    moderated), so valid-looking data is sometimes rightly refused. Refusing what the document rules out is
    checked. Nor "ignored auth", which sends each security scheme an invalid value: any name is a guest's valid
    `?guest=` (anyone may be any guest), so that probe cannot apply; every refusal of a missing, bad or revoked
    credential is tested in test_http_api.py, test_http_guests.py and test_api_keys.py."""
    node, key = api_node
    if sends_another_request(case):
        hypothesis.reject()
    case.call_and_validate(headers=bearer(key), excluded_checks=EXCLUDED_CHECKS)


def sends_another_request(case) -> bool:
    """A negative case whose object-valued query parameter goes out as its own `key=value` pairs (form style,
    exploded): `limit` as `{"limit": 3}` is sent as `limit=3`, a valid request, which schemathesis then expects refused
    (schemathesis#4600 mended this for text parameters only). Such a case never sends the invalid value it names."""
    return any(isinstance(value, dict) for value in (case.query or {}).values())


def test_the_served_document_is_the_committed_one(api_node):
    node, _ = api_node
    served = call(node, "GET", "/api/v1/openapi.json")
    assert served.status == 200
    assert served.body == json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert served.body["openapi"].startswith("3.1")
    # Every operation the server has is in the document.
    operations = {(path, method) for path, item in served.body["paths"].items() for method in item if method != "parameters"}
    assert ("/api/v1/events", "get") in operations and ("/api/v1/rooms/{room}/messages", "post") in operations
    assert len(operations) == 22



def test_the_event_stream_answers_as_its_document_says(api_node):
    """The stream never ends by itself and schemathesis reads it for seconds, so it is not fuzzed (every refusal of
    it is in test_event_stream.py): one stream and one refusal are checked against the document."""
    node, key = api_node
    operation = schemathesis.openapi.from_url(f"{node.http_url}/api/v1/openapi.json")["/api/v1/events"]["GET"]
    for rooms in ("lobby:0,general", "lobby,lobby"):
        case = operation.Case(query={"rooms": rooms})
        case.call_and_validate(headers=bearer(key), excluded_checks=EXCLUDED_CHECKS)
