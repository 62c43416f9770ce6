"""Registry input hardening: vPDQ values of long recordings, strict numbers, no NUL in stored
names, and responses carrying a PIN or an API key kept out of caches."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.apps.intake.live import live_registry

from stopframe.apps.intake.proxy import proxy_app
from stopframe.apps.proof_of_work import solve
from stopframe.apps.registry.state import Registry
from stopframe.signals.vpdq import MAX_VPDQ_CHARS

HEX = "0123456789abcdef" * 4
NewCase = Callable[[], tuple[str, dict[str, str]]]


def long_recording(seconds: int, salt: str = "") -> str:
    """A synthetic vPDQ: one benign frame hash a second of a 30 fps clip."""
    return "\n".join(
        f"{30 * s},100,{hashlib.sha256(f'{salt}{s}'.encode()).hexdigest()},{s:.3f}"
        for s in range(seconds)
    )


FOUR_HOURS = long_recording(4 * 3600)


def test_a_four_hour_vpdq_is_accepted_as_an_item_and_as_an_entry(
    client: TestClient, new_case: NewCase
) -> None:
    number, acting = new_case()
    signal = {"kind": "vpdq", "value": FOUR_HOURS}
    items = client.post(
        f"/v1/cases/{number}/items",
        json={"items": [{"media": "video", "signals": [signal]}]},
        headers=acting,
    )
    assert items.status_code == 201, items.text[:300]
    assert items.json()["items"][0]["kinds"] == ["vpdq"]
    other = {"kind": "vpdq", "value": long_recording(4 * 3600, salt="other")}
    added = client.post(f"/v1/cases/{number}/entries", json={"signals": [other]}, headers=acting)
    assert added.status_code == 201, added.text[:300]
    assert added.json()["entries"][0]["value"] == other["value"]


def test_a_vpdq_over_the_cap_is_refused_with_a_clear_422(
    client: TestClient, new_case: NewCase
) -> None:
    number, acting = new_case()
    value = long_recording(MAX_VPDQ_CHARS // 80 + 10)
    assert len(value) > MAX_VPDQ_CHARS
    for path, body in [
        ("entries", {"signals": [{"kind": "vpdq", "value": value}]}),
        ("items", {"items": [{"media": "video", "signals": [{"kind": "vpdq", "value": value}]}]}),
    ]:
        refused = client.post(f"/v1/cases/{number}/{path}", json=body, headers=acting)
        assert refused.status_code == 422, refused.text[:300]
        assert str(MAX_VPDQ_CHARS) in refused.text


def test_only_the_routes_that_add_values_take_the_larger_body(
    client: TestClient, registry: Registry, new_case: NewCase, headers: dict[str, dict[str, str]]
) -> None:
    number, acting = new_case()
    values_limit = registry.settings.max_values_body_bytes
    too_big = b'{"signals": [' + b" " * values_limit + b"]}"
    refused = client.post(
        f"/v1/cases/{number}/entries",
        content=too_big,
        headers={**acting, "Content-Type": "application/json"},
    )
    assert refused.status_code == 413
    over_default = b'{"reports": [' + b" " * registry.settings.max_body_bytes + b"]}"
    assert over_default.__len__() < values_limit
    tight = client.post(
        "/v1/reports/batch",
        content=over_default,
        headers={**headers["report"], "Content-Type": "application/json"},
    )
    assert tight.status_code == 413


@pytest.mark.parametrize("timestamp", ["nan", "inf", "1e400", "9" * 4000, "\u0663.5", "\uff13"])
def test_vpdq_timestamps_that_are_not_plain_ascii_numbers_are_refused(
    client: TestClient, new_case: NewCase, timestamp: str
) -> None:
    number, acting = new_case()
    value = f"0,100,{HEX},{timestamp}"
    refused = client.post(
        f"/v1/cases/{number}/entries",
        json={"signals": [{"kind": "vpdq", "value": value}]},
        headers=acting,
    )
    assert refused.status_code == 422
    assert "timestamp must be seconds" in refused.text


@pytest.mark.parametrize("frame", ["\u0661\u0662", "\uff11", "9" * 4000, "1_0"])
def test_vpdq_frame_numbers_that_are_not_plain_ascii_digits_are_refused(
    client: TestClient, new_case: NewCase, frame: str
) -> None:
    number, acting = new_case()
    refused = client.post(
        f"/v1/cases/{number}/entries",
        json={"signals": [{"kind": "vpdq", "value": f"{frame},100,{HEX},0.000"}]},
        headers=acting,
    )
    assert refused.status_code == 422
    assert "frame number must be" in refused.text


@pytest.mark.parametrize("quality", [50.5, 50.0, "50", True])
def test_signal_quality_must_be_a_json_integer(
    client: TestClient, new_case: NewCase, quality: object
) -> None:
    number, acting = new_case()
    signal = {"kind": "pdq", "value": HEX, "quality": quality}
    refused = client.post(f"/v1/cases/{number}/entries", json={"signals": [signal]}, headers=acting)
    assert refused.status_code == 422, refused.text
    accepted = client.post(
        f"/v1/cases/{number}/entries",
        json={"signals": [{**signal, "quality": 50}]},
        headers=acting,
    )
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("name", ["bad\x00name", "\x00"])
def test_nul_characters_are_refused_in_key_names(
    client: TestClient, headers: dict[str, dict[str, str]], name: str
) -> None:
    refused = client.post(
        "/v1/api-keys", json={"name": name, "scopes": ["read"]}, headers=headers["admin"]
    )
    assert refused.status_code == 422
    assert "NUL" in refused.text


def test_nul_characters_are_refused_in_bank_names(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    refused = client.post(
        "/v1/banks", json={"name": "bank\x00", "kinds": ["pdq"]}, headers=headers["admin"]
    )
    assert refused.status_code == 422


def _never_cached(response_headers: object) -> None:
    assert response_headers["cache-control"] == "no-store"  # type: ignore[index]
    assert response_headers["pragma"] == "no-cache"  # type: ignore[index]


def test_responses_with_a_pin_or_a_key_are_never_cached(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    case = client.post("/v1/cases", headers=headers["submit"])
    assert case.status_code == 201 and "pin" in case.json()
    _never_cached(case.headers)

    issued = client.get("/v1/intake/challenge").json()
    opened = client.post(
        "/v1/intake/cases",
        json={"challenge": issued["challenge"], "nonce": solve(issued["challenge"], 4)},
    )
    assert opened.status_code == 201 and "pin" in opened.json()
    _never_cached(opened.headers)

    key = client.post(
        "/v1/api-keys", json={"name": "platform", "scopes": ["read"]}, headers=headers["admin"]
    )
    assert key.status_code == 201 and "key" in key.json()
    _never_cached(key.headers)

    rotated = client.post(f"/v1/api-keys/{key.json()['key_id']}/rotate", headers=headers["admin"])
    assert rotated.status_code == 201 and "key" in rotated.json()
    _never_cached(rotated.headers)


def test_the_intake_page_server_keeps_the_pin_uncached_and_carries_long_recordings(
    tmp_path: Path,
) -> None:
    with live_registry(tmp_path / "data") as url, TestClient(proxy_app(url)) as page:
        issued = page.get("/v1/intake/challenge").json()
        nonce = solve(issued["challenge"], issued["difficulty"])
        opened = page.post(
            "/v1/intake/cases", json={"challenge": issued["challenge"], "nonce": nonce}
        )
        assert opened.status_code == 201
        _never_cached(opened.headers)
        number, pin = opened.json()["case_number"], opened.json()["pin"]
        item = {"media": "video", "signals": [{"kind": "vpdq", "value": FOUR_HOURS}]}
        added = page.post(
            f"/v1/cases/{number}/items", json={"items": [item]}, headers={"X-Case-PIN": pin}
        )
        assert added.status_code == 201, added.text[:300]
