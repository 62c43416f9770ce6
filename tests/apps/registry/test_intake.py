"""Anonymous case opening: the proof of work, its signed single-use challenges, the per-address
limit and the off switch; and the optional front mounted behind the API."""

from __future__ import annotations

import hashlib
import stat
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send
from tests.apps.registry.conftest import settings_for_tests

from stopframe.apps.proof_of_work import is_solved, leading_zero_bits, solve
from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.challenges import SECRET_FILE, ChallengeBook, load_secret
from stopframe.apps.registry.models import AuditRecord
from stopframe.apps.registry.state import open_registry

CHALLENGE = "/v1/intake/challenge"
OPEN = "/v1/intake/cases"


def test_leading_zero_bits_reads_the_digest_from_its_first_bit() -> None:
    assert leading_zero_bits(bytes(32)) == 256
    assert leading_zero_bits(b"\x80" + bytes(31)) == 0
    assert leading_zero_bits(b"\x00\x01" + bytes(30)) == 15
    assert leading_zero_bits(b"\x00\x00\x10" + bytes(29)) == 19


def test_the_solver_meets_the_difficulty_and_the_check_agrees() -> None:
    for bits in (0, 4, 10):
        nonce = solve("benign-challenge", bits)
        digest = hashlib.sha256(f"benign-challenge:{nonce}".encode()).digest()
        assert leading_zero_bits(digest) >= bits
        assert is_solved("benign-challenge", nonce, bits)
    for bad in ("", "A1", "a" * 33, "a b", "ü", "0\n"):
        assert not is_solved("benign-challenge", bad, 0)


def test_the_secret_is_made_once_owner_only_and_checked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = load_secret(tmp_path / "data")
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(tmp_path / "data") == first and len(first) == 32
    assert [p.name for p in path.parent.iterdir()] == [SECRET_FILE]
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="not a challenge secret"):
        load_secret(tmp_path / "data")


def test_a_challenge_from_another_secret_is_refused() -> None:
    ours, theirs = ChallengeBook(b"a" * 32, 60), ChallengeBook(b"b" * 32, 60)
    issued = theirs.issue(0)
    with pytest.raises(Exception, match="not issued by this registry"):
        ours.check(issued.token, "0", 0)
    assert theirs.check(issued.token, "0", 0) > time.time()


def test_spent_challenges_are_bounded_and_forgotten_once_expired() -> None:
    now = [1_000_000.0]
    book = ChallengeBook(b"s" * 32, 60, max_spent=2, clock=lambda: now[0])
    tokens = [book.issue(0).token for _ in range(3)]
    for token in tokens[:2]:
        book.spend(token, book.check(token, "0", 0))
    with pytest.raises(Exception, match="try again in a minute"):
        book.spend(tokens[2], book.check(tokens[2], "0", 0))
    now[0] += 61  # the first two expired: their places are free again
    fresh = book.issue(0).token
    book.spend(fresh, book.check(fresh, "0", 0))


@pytest.fixture
def intake(database_url, tmp_path):  # type: ignore[no-untyped-def]
    """A registry with an 8-bit proof of work and two anonymous cases per address an hour."""
    settings = settings_for_tests(
        tmp_path / "data", database_url, intake_pow_bits=8, intake_cases_per_hour=2
    )
    reg = open_registry(settings)
    with TestClient(create_app(registry=reg), raise_server_exceptions=False) as http:
        yield reg, http
    reg.db.dispose()


def solved(client: TestClient) -> dict[str, str]:
    """A fresh challenge and its solution, as the opening request takes them."""
    issued = client.get(CHALLENGE).json()
    return {"challenge": issued["challenge"], "nonce": solve(issued["challenge"], 8)}


def test_a_solved_challenge_opens_one_case_and_only_once(intake) -> None:  # type: ignore[no-untyped-def]
    reg, client = intake
    issued = client.get(CHALLENGE)
    assert issued.status_code == 200
    assert issued.json()["difficulty"] == 8 and issued.json()["expires_in"] == 300
    body = {"challenge": issued.json()["challenge"], "nonce": solve(issued.json()["challenge"], 8)}
    opened = client.post(OPEN, json=body)
    assert opened.status_code == 201, opened.text
    assert opened.json()["case_number"].startswith("SF-") and len(opened.json()["pin"]) == 10
    reused = client.post(OPEN, json=body)
    assert reused.status_code == 400 and "already used" in reused.json()["detail"]
    assert reused.headers["content-type"] == "application/problem+json"
    with reg.db.read() as session:
        rows = session.execute(select(AuditRecord).where(AuditRecord.action == "case.create"))
        assert [r.actor for r in rows.scalars()] == ["intake"]
    pin = {"X-Case-Pin": opened.json()["pin"]}
    listed = client.get(f"/v1/cases/{opened.json()['case_number']}/items", headers=pin)
    assert listed.status_code == 200 and listed.json()["items"] == []


def test_unsolved_forged_malformed_and_easier_challenges_are_refused(intake, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    reg, client = intake
    token = client.get(CHALLENGE).json()["challenge"]
    wrong = next(n for n in map(str, range(1000)) if not is_solved(token, n, 8))
    expires, bits, random, mac = token.split(".")
    cases = {
        "does not solve": {"challenge": token, "nonce": wrong},
        "not issued by this registry": {
            "challenge": f"{int(expires) + 999}.{bits}.{random}.{mac}",
            "nonce": "0",
        },
        "malformed": {"challenge": "not-a-challenge", "nonce": "0"},
        "is malformed": {"challenge": token + "\n", "nonce": "0"},
    }
    for words, body in cases.items():
        refused = client.post(OPEN, json=body)
        assert refused.status_code == 400 and words in refused.json()["detail"], refused.text
    assert client.post(OPEN, json={"challenge": token, "nonce": "A!"}).status_code == 400
    monkeypatch.setattr(reg.settings, "intake_pow_bits", 9)  # raised after the challenge was issued
    easier = client.post(OPEN, json={"challenge": token, "nonce": solve(token, 8)})
    assert easier.status_code == 400 and "easier" in easier.json()["detail"]


def test_an_expired_challenge_is_refused(intake, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    reg, client = intake
    body = solved(client)
    monkeypatch.setattr(reg.challenges, "clock", lambda: time.time() + 301)
    expired = client.post(OPEN, json=body)
    assert expired.status_code == 400 and "expired" in expired.json()["detail"]


def test_each_address_opens_a_bounded_number_of_cases(intake) -> None:  # type: ignore[no-untyped-def]
    _reg, client = intake
    assert [client.post(OPEN, json=solved(client)).status_code for _ in range(2)] == [201, 201]
    body = solved(client)
    limited = client.post(OPEN, json=body)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 60
    assert "rate limit" in limited.json()["detail"]


def test_anonymous_opening_can_be_turned_off(database_url, tmp_path, headers) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for_tests(tmp_path / "off", database_url, intake_open=False)
    reg = open_registry(settings)
    with TestClient(create_app(registry=reg), raise_server_exceptions=False) as client:
        assert client.get(CHALLENGE).status_code == 403
        refused = client.post(OPEN, json={"challenge": "x", "nonce": "0"})
        assert refused.status_code == 403 and "API key" in refused.json()["detail"]
    reg.db.dispose()


async def front(scope: Scope, receive: Receive, send: Send) -> None:
    """A stand-in page: says which path it was asked for."""
    await PlainTextResponse(f"front {scope['path']}")(scope, receive, send)


def test_a_front_answers_what_the_api_does_not(registry) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(registry=registry), raise_server_exceptions=False) as bare:
        missing = bare.get("/")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
    app = create_app(registry=registry, front=front)
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.text == "front /"
        assert client.get("/static/app.js").text == "front /static/app.js"
        assert client.get("/v1/health").json()["status"] == "ok"
        assert client.get("/v1/intake/challenge").status_code == 200
        media = client.post(OPEN, content=b"\xff\xd8\xff", headers={"content-type": "image/jpeg"})
        assert media.status_code == 415  # the request guard still stands in front of everything
        page_post = client.post("/", content=b"x" * 10, headers={"content-type": "image/png"})
        assert page_post.status_code == 415
