"""Ed25519 signing of lists: a keyring of private keys in the data dir (0600), newest one signs.

Key ids are the first 16 hex characters of sha256(raw public key). Rotation adds a new key; old
public keys stay published at /v1/keys so anything they signed still verifies.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from stopframe.errors import TamperedListError
from stopframe.lists.canonical import canonical_json


def key_id_of(public: Ed25519PublicKey) -> str:
    """The short id of a public key, carried in every signed payload."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_b64(public: Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64, as published and pinned by consumers."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_public_key(b64: str) -> Ed25519PublicKey:
    """Parse a published public key (base64 of 32 raw bytes)."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(b64, validate=True))


@dataclass
class Keyring:
    """All signing keys, oldest first; the last one signs."""

    keys: list[Ed25519PrivateKey]

    @property
    def current(self) -> Ed25519PrivateKey:
        """The key that signs new payloads."""
        return self.keys[-1]

    def published(self) -> list[dict[str, Any]]:
        """Public keys for /v1/keys: id, base64 key, and which one signs now."""
        out = []
        for key in self.keys:
            public = key.public_key()
            out.append(
                {
                    "key_id": key_id_of(public),
                    "algorithm": "ed25519",
                    "public_key": public_key_b64(public),
                    "current": key is self.current,
                }
            )
        return out

    def sign(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Return the signed envelope {payload (with key_id), signature (base64)}."""
        body = dict(payload, key_id=key_id_of(self.current.public_key()))
        signature = self.current.sign(canonical_json(body))
        return {"payload": body, "signature": base64.b64encode(signature).decode()}


def verify_envelope(
    envelope: dict[str, Any], pinned: Mapping[str, Ed25519PublicKey]
) -> dict[str, Any]:
    """Check an envelope's signature against pinned keys; return the payload or
    TamperedListError."""
    try:
        payload = envelope["payload"]
        signature = base64.b64decode(envelope["signature"], validate=True)
        key = pinned[payload["key_id"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise TamperedListError(
            f"envelope unusable or signed by an unpinned key: {exc!r}"
        ) from None
    if not isinstance(payload, dict):
        raise TamperedListError("envelope payload is not an object")
    try:
        key.verify(signature, canonical_json(payload))
    except (InvalidSignature, TypeError) as exc:
        raise TamperedListError("signature does not verify") from exc
    return payload


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def _load_private(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("signing key must be Ed25519")
    return key


def load_keyring(folder: Path, env_key: str | None = None, create: bool = True) -> Keyring:
    """Load `folder/*.pem` (names sort oldest first), creating the first key if none exists.

    A key given in the environment (`env_key`, PEM) is used as the current signing key.
    """
    keys = [_load_private(p.read_bytes()) for p in sorted(folder.glob("ed25519-*.pem"))]
    if env_key:
        keys.append(_load_private(env_key.encode()))
    if not keys:
        if not create:
            raise FileNotFoundError(f"no signing keys in {folder}")
        return rotate(folder)
    return Keyring(keys)


def rotate(folder: Path) -> Keyring:
    """Create a new signing key (it becomes current) and return the whole keyring."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    existing = sorted(folder.glob("ed25519-*.pem"))
    number = int(existing[-1].stem.split("-")[1]) + 1 if existing else 1
    _write_private(folder / f"ed25519-{number:04d}.pem", Ed25519PrivateKey.generate())
    return load_keyring(folder, create=False)
