"""Matcher API keys: shown once, stored as sha256, scopes enforced, revocation honoured within
the per-process cache time."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from stopframe.apps.matcher.keys import (
    ADMIN,
    MATCH,
    authenticate,
    authorize,
    create_key,
    list_keys,
    revoke,
)
from stopframe.apps.matcher.state import MatcherState, state_path
from stopframe.errors import Forbidden, Unauthorized


@pytest.fixture
def state(tmp_path: Path) -> Iterator[MatcherState]:
    with MatcherState.open(state_path(tmp_path)) as opened:
        yield opened


def test_a_key_is_shown_once_and_only_its_hash_is_stored(state: MatcherState) -> None:
    token = create_key(state, [MATCH], "upload service")
    match = re.fullmatch(r"sfm_([0-9a-f]{12})_([A-Za-z0-9_-]{43})", token)
    assert match
    (stored,) = state.fetchall("SELECT key_id, key_hash FROM api_keys")
    assert stored == (match[1], hashlib.sha256(token.encode()).hexdigest())
    assert match[2].encode() not in state.path.read_bytes()


def test_a_valid_key_says_who_and_what(state: MatcherState) -> None:
    token = create_key(state, [MATCH, ADMIN], "ops")
    info = authenticate(state, token)
    assert info is not None
    assert (info.name, info.scopes) == ("ops", frozenset({"match", "admin"}))
    assert info.key_id == token.split("_")[1]


@pytest.mark.parametrize("token", ["", "sfm_", "sfk_abc_def", "Bearer x", "sfm_000000000000_x"])
def test_wrong_keys_are_refused(state: MatcherState, token: str) -> None:
    create_key(state, [MATCH], "real")
    assert authenticate(state, token) is None


def test_a_changed_character_is_refused(state: MatcherState) -> None:
    token = create_key(state, [MATCH], "real")
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert authenticate(state, forged) is None


@pytest.mark.parametrize("scopes", [["read"], [MATCH, "root"], []])
def test_unknown_or_no_scopes_are_refused_naming_the_allowed_ones(
    state: MatcherState, scopes: list[str]
) -> None:
    with pytest.raises(ValueError, match="admin, match"):
        create_key(state, scopes, "bad")
    assert list_keys(state) == []


def test_scopes_are_enforced(state: MatcherState) -> None:
    matcher = create_key(state, [MATCH], "uploads")
    admin = create_key(state, [ADMIN], "ops")
    assert authorize(state, matcher, MATCH).name == "uploads"
    assert authorize(state, admin, ADMIN).name == "ops"
    with pytest.raises(Forbidden, match="admin"):
        authorize(state, matcher, ADMIN)
    with pytest.raises(Forbidden, match="match"):
        authorize(state, admin, MATCH)
    for missing in (None, "", "sfm_nope_nope"):
        with pytest.raises(Unauthorized):
            authorize(state, missing, MATCH)


def test_revocation_elsewhere_takes_effect_when_the_cache_expires(tmp_path: Path) -> None:
    with (
        MatcherState.open(state_path(tmp_path)) as worker,
        MatcherState.open(state_path(tmp_path)) as admin_process,
    ):
        token = create_key(admin_process, [MATCH], "uploads")
        info = authenticate(worker, token, now=100.0, cache_s=30.0)
        assert info is not None
        assert revoke(admin_process, info.key_id)
        assert authenticate(worker, token, now=129.0, cache_s=30.0) == info  # cached
        assert authenticate(worker, token, now=130.0, cache_s=30.0) is None
        assert authenticate(worker, token, now=131.0, cache_s=30.0) is None


def test_revocation_in_the_same_process_is_immediate(state: MatcherState) -> None:
    token = create_key(state, [MATCH], "uploads")
    info = authenticate(state, token, now=0.0)
    assert info is not None
    assert revoke(state, info.key_id)
    assert authenticate(state, token, now=1.0) is None
    assert not revoke(state, info.key_id)
    assert not revoke(state, "no-such-key")


def test_list_keys_shows_revoked_ones_and_no_secrets(state: MatcherState) -> None:
    keep = create_key(state, [MATCH], "keep")
    drop = create_key(state, [ADMIN, MATCH], "drop")
    revoke(state, drop.split("_")[1])
    listed = {key.name: key for key in list_keys(state)}
    assert listed["keep"].revoked_at is None
    assert listed["drop"].revoked_at is not None
    assert listed["drop"].scopes == frozenset({"admin", "match"})
    assert keep not in repr(listed) and drop not in repr(listed)
