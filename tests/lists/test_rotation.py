"""Signing-key rotation in the lists layer: the keyring follows its folder, rotation statements
chain a pinned key to the current one, retired keys and forgeries are not followed, and the
environment key can never disagree with the folder."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stopframe.errors import TamperedListError
from stopframe.lists.client import RegistryClient
from stopframe.lists.documents import snapshot_document, stamp_document
from stopframe.lists.rotation import follow
from stopframe.lists.signing import (
    ROTATION,
    STATEMENT_VERSION,
    Keyring,
    SigningKeyError,
    key_id_of,
    load_keyring,
    load_public_key,
    public_key_b64,
    retire,
    rotate,
)

STAMP = stamp_document("registry-1", 1, 3600, (1, "ab" * 32))


def ids(keyring: Keyring) -> list[str]:
    """The usable key ids, oldest first (the last one signs)."""
    return [k["key_id"] for k in keyring.published()]


def pinned(keyring: Keyring, *key_ids: str) -> dict[str, Any]:
    """The named keys of `keyring`, parsed, as a consumer pins them."""
    return {
        k["key_id"]: load_public_key(k["public_key"])
        for k in keyring.published()
        if k["key_id"] in key_ids
    }


def pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_a_loaded_keyring_signs_with_a_key_rotated_by_another_process(tmp_path: Path) -> None:
    serving = load_keyring(tmp_path)
    first = ids(serving)[0]
    rotated = rotate(tmp_path)  # as `stopframe registry rotate-signing-key` does, elsewhere
    assert serving.sign({"n": 1})["payload"]["key_id"] == ids(rotated)[-1] != first
    assert [k["current"] for k in serving.published()] == [False, True]


def test_rotation_statements_chain_a_pinned_key_to_the_current_one(tmp_path: Path) -> None:
    load_keyring(tmp_path)
    rotate(tmp_path)
    keyring = rotate(tmp_path)
    k1, k2, k3 = ids(keyring)
    statements = keyring.statements(STAMP)
    assert [s["payload"]["key_id"] for s in statements["rotations"]] == [k1, k2]
    assert [s["payload"]["new_key_id"] for s in statements["rotations"]] == [k2, k3]
    trust = follow(pinned(keyring, k1), statements["rotations"], statements["retirements"])
    assert set(trust.keys) == {k1, k2, k3} and not trust.retired
    backwards = follow(pinned(keyring, k3), statements["rotations"], [])
    assert set(backwards.keys) == {k3}  # statements name newer keys, never older ones


def test_a_statement_signed_by_an_unpinned_key_is_not_followed(tmp_path: Path) -> None:
    keyring = load_keyring(tmp_path)
    (k1,) = ids(keyring)
    intruder, planted = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    forged = Keyring([intruder, planted]).statements(STAMP)["rotations"]
    assert follow(pinned(keyring, k1), forged, []).keys.keys() == {k1}
    relabelled = dict(forged[0], payload=dict(forged[0]["payload"], key_id=k1))
    assert follow(pinned(keyring, k1), [relabelled], []).keys.keys() == {k1}


def test_a_retired_key_is_dropped_and_its_statements_are_not_followed(tmp_path: Path) -> None:
    load_keyring(tmp_path)
    rotate(tmp_path)
    k1, k2 = ids(rotate(tmp_path))[:2]
    leaked = _private(tmp_path, k2)
    keyring = retire(tmp_path, k2)
    k3 = ids(keyring)[-1]
    assert ids(keyring) == [k1, k3] and k2 in keyring.retired
    assert not any(key_id_of(_load(p).public_key()) == k2 for p in tmp_path.glob("*.pem"))
    statements = keyring.statements(STAMP)
    evil = Ed25519PrivateKey.generate()
    from_leaked = Keyring([leaked, evil]).statements(STAMP)["rotations"]
    trust = follow(
        pinned(keyring, k1) | {k2: leaked.public_key()},
        statements["rotations"] + from_leaked,
        statements["retirements"],
    )
    assert set(trust.keys) == {k1, k3} and trust.retired == {k2}


def test_the_current_key_cannot_be_retired(tmp_path: Path) -> None:
    keyring = load_keyring(tmp_path)
    with pytest.raises(SigningKeyError, match="rotate first"):
        retire(tmp_path, ids(keyring)[-1])


def test_the_environment_key_and_the_folder_cannot_disagree(tmp_path: Path) -> None:
    env = pem(Ed25519PrivateKey.generate())
    keyring = load_keyring(tmp_path, env)
    assert (tmp_path / "current").read_text().strip() == ids(keyring)[-1]
    with pytest.raises(SigningKeyError, match="STOPFRAME_SIGNING_KEY"):
        rotate(tmp_path, env)
    rotate(tmp_path)  # rotated without the environment: the folder now names another key
    with pytest.raises(SigningKeyError, match="names .* as current"):
        load_keyring(tmp_path, env)
    with pytest.raises(SigningKeyError, match="names .* as current"):
        load_keyring(tmp_path, pem(Ed25519PrivateKey.generate()))


class Registry:
    """Serves snapshots signed by the keyring's current key and its key statements."""

    def __init__(self, folder: Path) -> None:
        self.keyring = load_keyring(folder)
        self.folder = folder
        self.asked: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request.url.path)
        if request.url.path == "/v1/keys/rotations":
            return httpx.Response(200, json=self.keyring.statements(STAMP))
        payload = snapshot_document(0, [], []) | stamp_document(
            "registry-1", 1, 3600, (1, "ab" * 32)
        )
        return httpx.Response(200, json=self.keyring.sign(payload))


def consumer(registry: Registry, pins: dict[str, str], keys_file: Path) -> RegistryClient:
    http = httpx.Client(base_url="http://registry", transport=httpx.MockTransport(registry.handle))
    return RegistryClient("http://registry", "sfk_x", pins, http=http, keys_file=keys_file)


def test_a_client_pinned_to_the_old_key_learns_the_new_one_and_keeps_it(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "signing")
    old = {k["key_id"]: k["public_key"] for k in registry.keyring.published()}
    rotate(registry.folder)
    new = ids(registry.keyring)[-1]
    kept = tmp_path / "learned-keys.json"
    with consumer(registry, old, kept) as client:
        assert client.snapshot_page().key_id == new
        assert new in client.pinned and registry.asked.count("/v1/keys/rotations") == 1
    assert len(json.loads(kept.read_text())["rotations"]) == 1  # what showed the new key
    registry.asked.clear()
    with consumer(registry, old, kept) as client:
        assert new in client.pinned  # from the kept statements, checked from the pinned key
        client.snapshot_page()
        assert "/v1/keys/rotations" not in registry.asked
    kept.write_text("not json")  # a damaged file costs a fetch, never trust or a start
    with consumer(registry, old, kept) as client:
        assert new not in client.pinned
        assert client.snapshot_page().key_id == new and new in client.pinned


def test_a_client_refuses_documents_of_a_key_the_registry_retired(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "signing")
    first = {k["key_id"]: k["public_key"] for k in registry.keyring.published()}
    leaked_id = ids(rotate(registry.folder))[-1]
    leaked = _private(registry.folder, leaked_id)
    with consumer(registry, first, tmp_path / "k.json") as client:
        client.snapshot_page()  # learns the second key, which then leaks
        assert leaked_id in client.pinned
        rotate(registry.folder)
        retire(registry.folder, leaked_id)
        client.snapshot_page()  # signed by the third key: learned from the first, second retired
        assert leaked_id in client.retired and leaked_id not in client.pinned
        registry.keyring = Keyring([leaked])  # someone holding the leaked key signs a page
        with pytest.raises(TamperedListError, match="retired"):
            client.snapshot_page()
    with RegistryClient("http://localhost", "k", first, keys_file=tmp_path / "k.json") as again:
        assert leaked_id in again.retired  # kept across a restart


def test_a_client_pinned_to_another_key_learns_nothing(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "signing")
    stranger = Ed25519PrivateKey.generate().public_key()
    pins = {key_id_of(stranger): public_key_b64(stranger)}
    with consumer(registry, pins, tmp_path / "k.json") as client:
        with pytest.raises(TamperedListError, match="unpinned"):
            client.snapshot_page()
        assert set(client.pinned) == set(pins)
    assert not (tmp_path / "k.json").exists()


def _load(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _private(folder: Path, key_id: str) -> Ed25519PrivateKey:
    """A copy of the private key `key_id` of `folder` (what a thief would hold)."""
    return next(k for k in map(_load, folder.glob("*.pem")) if key_id_of(k.public_key()) == key_id)


def test_statement_payloads_name_their_key_and_type(tmp_path: Path) -> None:
    load_keyring(tmp_path)
    statement = rotate(tmp_path).statements(STAMP)["rotations"][0]["payload"]
    assert statement["type"] == ROTATION and statement["version"] == STATEMENT_VERSION
    assert (
        base64.b64decode(statement["new_public_key"]) and statement["registry_id"] == "registry-1"
    )
