"""Per-address limits behind reverse proxies: a trusted proxy's X-Forwarded-For names the
client, anyone else's is ignored."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.apps.registry.conftest import settings_for_tests

from stopframe.apps.proof_of_work import solve
from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.proxies import TrustedProxies
from stopframe.apps.registry.state import open_registry
from stopframe.config import ip_networks, load_settings
from stopframe.errors import ConfigError

CHALLENGE, OPEN = "/v1/intake/challenge", "/v1/intake/cases"
PROXIES = TrustedProxies(ip_networks("10.0.0.0/8, 127.0.0.1, fd00::/8"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # an untrusted peer's header is ignored: it could name any bucket it likes
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        # a trusted proxy: the address it appended
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        # what the client wrote itself, left of the proxy's own entry, is not believed
        ("10.0.0.2", ["10.9.9.9, 198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["192.0.2.50, 198.51.100.1"], "198.51.100.1"),
        # two trusted hops, the header split over two lines
        ("127.0.0.1", ["198.51.100.1, 10.1.2.3", "10.0.0.7"], "198.51.100.1"),
        # ports and brackets as some proxies write them; IPv6 and IPv4-mapped peers
        ("10.0.0.2", ["198.51.100.1:4431"], "198.51.100.1"),
        ("fd00::1", ["[2001:db8::5]:443"], "2001:db8::5"),
        ("::ffff:10.0.0.2", ["2001:db8::5"], "2001:db8::5"),
        # nothing forwarded, or garbage from the nearest hop: the proxy's own address
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["not-an-address"], "10.0.0.2"),
        # garbage further left stops the walk at the last hop believed
        ("10.0.0.2", ["junk, 10.0.0.3"], "10.0.0.3"),
        # every hop trusted: the leftmost
        ("10.0.0.2", ["10.0.0.3, 10.0.0.4"], "10.0.0.3"),
        # no peer, or a peer that is no address (a test client)
        (None, ["198.51.100.1"], "unknown"),
        ("testclient", ["198.51.100.1"], "testclient"),
    ],
)
def test_the_client_is_the_rightmost_untrusted_hop(
    peer: str | None, forwarded: list[str], client: str
) -> None:
    assert PROXIES.client(peer, forwarded) == client


def test_nothing_is_trusted_by_default() -> None:
    assert TrustedProxies().client("127.0.0.1", ["198.51.100.1"]) == "127.0.0.1"


def test_a_bad_proxy_setting_fails_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOPFRAME_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    with pytest.raises(ConfigError, match="STOPFRAME_TRUSTED_PROXIES.*proxy.internal"):
        load_settings()
    monkeypatch.setenv("STOPFRAME_TRUSTED_PROXIES", " 10.0.0.0/8 , ::1 ")
    assert load_settings().registry.trusted_networks == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1"),
    )


def proxied(database_url: str, tmp_path, trusted: str) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A registry reached through a proxy at 10.0.0.2: one anonymous case and two wrong PINs
    per client address."""
    settings = settings_for_tests(
        tmp_path / "data",
        database_url,
        trusted_proxies=trusted,
        intake_cases_per_hour=1,
        pin_failure_burst=2,
    )
    reg = open_registry(settings)
    app = create_app(registry=reg)
    with TestClient(app, raise_server_exceptions=False, client=("10.0.0.2", 40000)) as client:
        yield client
    reg.db.dispose()


@pytest.fixture
def behind_trusted_proxy(database_url, tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    yield from proxied(database_url, tmp_path, "10.0.0.0/8")


@pytest.fixture
def behind_unknown_proxy(database_url, tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    yield from proxied(database_url, tmp_path, "")


def open_case(client: TestClient, address: str) -> tuple[int, dict[str, str]]:
    """Open an anonymous case as the client at `address`: status and body."""
    forwarded = {"X-Forwarded-For": address}
    token = client.get(CHALLENGE, headers=forwarded).json()["challenge"]
    answer = client.post(
        OPEN, json={"challenge": token, "nonce": solve(token, 4)}, headers=forwarded
    )
    return answer.status_code, answer.json()


def test_clients_behind_a_trusted_proxy_have_their_own_buckets(behind_trusted_proxy) -> None:  # type: ignore[no-untyped-def]
    client = behind_trusted_proxy
    status, case = open_case(client, "198.51.100.1")
    assert status == 201
    assert open_case(client, "198.51.100.1")[0] == 429  # the same client: its hour's one case
    assert open_case(client, "203.0.113.7")[0] == 201  # another client is not held up
    # a guesser locks itself out, and the owner of the case is not locked out with it
    items = f"/v1/cases/{case['case_number']}/items"
    guesser = {"X-Forwarded-For": "192.0.2.66", "X-Case-Pin": "wrong-pin-00"}
    assert [client.get(items, headers=guesser).status_code for _ in range(3)] == [401, 401, 429]
    owner = {"X-Forwarded-For": "198.51.100.1", "X-Case-Pin": case["pin"]}
    assert client.get(items, headers=owner).status_code == 200


def test_an_untrusted_proxy_cannot_split_its_bucket(behind_unknown_proxy) -> None:  # type: ignore[no-untyped-def]
    client = behind_unknown_proxy
    assert open_case(client, "198.51.100.1")[0] == 201
    assert open_case(client, "203.0.113.7")[0] == 429  # one address (10.0.0.2) for everyone
