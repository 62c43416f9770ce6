"""Ed25519 signing of lists: a keyring of private keys in the data dir (0600), one of them current.

Key ids are the first 16 hex characters of sha256(raw public key). The folder holds the keys
(`ed25519-NNNN.pem`), a `current` marker naming the key that signs, and `retired.json`, the keys
retired as compromised (never used nor published as valid again; their private files are deleted).
Rotation adds a key and points the marker at it; a running registry notices (it looks at the
folder before each signature) and signs with the new key at once. Old public keys stay published
at /v1/keys so anything they signed still verifies, and each signs a rotation statement naming
the key after it, so a consumer pinned to an old key learns the new one
(`stopframe.lists.rotation`).

STOPFRAME_SIGNING_KEY (`env_key`), when set, is the current key: the marker is written to name it
at the first start, and a folder whose marker names another key (rotated since) is refused, so
the two can never disagree. Rotating or retiring from the folder is refused while it is set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from stopframe.errors import ConfigError, TamperedListError
from stopframe.lists.canonical import canonical_json, iso, utcnow

log = logging.getLogger("stopframe.lists")
KEY_GLOB = "ed25519-*.pem"
CURRENT_FILE = "current"
RETIRED_FILE = "retired.json"
ENV_NAME = "STOPFRAME_SIGNING_KEY"
ROTATION = "key_rotation"
RETIREMENT = "key_retirement"
STATEMENT_VERSION = 2


class SigningKeyError(ConfigError):
    """The signing keys cannot be used as asked: a disagreement, an unknown or current key."""


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


def _id(key: Ed25519PrivateKey) -> str:
    return key_id_of(key.public_key())


def _envelope(key: Ed25519PrivateKey, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` with the signer's key_id, signed by `key`."""
    body = dict(payload, key_id=_id(key))
    signature = key.sign(canonical_json(body))
    return {"payload": body, "signature": base64.b64encode(signature).decode()}


@dataclass
class Keyring:
    """The usable signing keys, oldest first, the last one signing; the retired ones by id
    ({public_key, retired_at}). Loaded from `folder`, it follows the folder's changes."""

    keys: list[Ed25519PrivateKey]
    retired: dict[str, dict[str, str]] = field(default_factory=dict)
    folder: Path | None = None
    env_key: str | None = None
    _seen: tuple[Any, ...] = field(default=(), init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def refresh(self) -> None:
        """Reload from the folder when it changed (a rotation or retirement by another process);
        a folder that cannot be used is logged and the keys held so far keep signing."""
        if self.folder is None:
            return
        with self._lock:
            state = _folder_state(self.folder)
            if state == self._seen:
                return
            self._seen = state
            try:
                fresh = load_keyring(self.folder, self.env_key, create=False)
            except (OSError, ValueError) as exc:
                log.error("signing keys in %s not reloaded, still signing with %s: %s",
                          self.folder, _id(self.keys[-1]), exc)  # fmt: skip
                return
            if _id(fresh.keys[-1]) != _id(self.keys[-1]):
                log.warning("list-signing key is now %s", _id(fresh.keys[-1]))
            self.keys, self.retired = fresh.keys, fresh.retired

    @property
    def current(self) -> Ed25519PrivateKey:
        """The key that signs new payloads."""
        self.refresh()
        return self.keys[-1]

    def published(self) -> list[dict[str, Any]]:
        """Public keys for /v1/keys: id, base64 key, and which one signs now (retired ones are
        not among them)."""
        current = self.current
        return [
            {
                "key_id": _id(key),
                "algorithm": "ed25519",
                "public_key": public_key_b64(key.public_key()),
                "current": key is current,
            }
            for key in self.keys
        ]

    def sign(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Return the signed envelope {payload (with key_id), signature (base64)}."""
        return _envelope(self.current, payload)

    def statements(self, stamp: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """Rotation statements (each key signs one naming the key after it) and retirement
        statements (signed by the current key), each carrying `stamp`."""
        current = self.current
        keys = list(self.keys)
        rotations = [
            _envelope(
                old,
                {
                    "type": ROTATION,
                    "version": STATEMENT_VERSION,
                    "new_key_id": _id(new),
                    "new_public_key": public_key_b64(new.public_key()),
                    **stamp,
                },
            )
            for old, new in zip(keys, keys[1:], strict=False)
        ]
        retirements = [
            _envelope(
                current,
                {
                    "type": RETIREMENT,
                    "version": STATEMENT_VERSION,
                    "retired_key_id": key_id,
                    "retired_public_key": facts["public_key"],
                    "retired_at": facts["retired_at"],
                    **stamp,
                },
            )
            for key_id, facts in sorted(self.retired.items())
        ]
        return {"rotations": rotations, "retirements": retirements}


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


def _write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` (0600) in one rename, so a reader sees the old or the new."""
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(draft, path)


def _load_private(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("signing key must be Ed25519")
    return key


def _folder_state(folder: Path) -> tuple[Any, ...]:
    """What changes when a key, the marker or the retired list is written: the folder's mtime and
    the marker's and list's inode and mtime (they are replaced by rename, so a new inode)."""
    state: list[Any] = []
    for path in (folder, folder / CURRENT_FILE, folder / RETIRED_FILE):
        try:
            status = path.stat()
        except FileNotFoundError:
            state.append(None)
        else:
            state.append((status.st_ino, status.st_mtime_ns))
    return tuple(state)


def _read_retired(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / RETIRED_FILE
    if not path.exists():
        return {}
    retired = json.loads(path.read_text())
    if not isinstance(retired, dict):
        raise ValueError(f"{path}: expected a JSON object {{key_id: {{public_key, retired_at}}}}")
    return retired


def is_retired(folder: Path, pem: bytes) -> bool:
    """Whether the key in `pem` is listed as retired in `folder` (a restore must not bring a
    retired key back from a backup made before its retirement)."""
    return key_id_of(_load_private(pem).public_key()) in _read_retired(folder)


def _marker(folder: Path) -> str | None:
    path = folder / CURRENT_FILE
    return path.read_text().strip() if path.exists() else None


def load_keyring(folder: Path, env_key: str | None = None, create: bool = True) -> Keyring:
    """Load `folder/*.pem` (names sort oldest first) less the retired keys, the one the marker
    names signing (else the newest), creating the first key if none exists.

    A key given in the environment (`env_key`, PEM) is the current key: SigningKeyError when the
    folder's marker names another or the key is retired; the marker is written when missing."""
    seen = _folder_state(folder)  # before reading: a change while reading is seen next time
    retired = _read_retired(folder)
    keys = [_load_private(p.read_bytes()) for p in sorted(folder.glob(KEY_GLOB))]
    keys = [k for k in keys if _id(k) not in retired]
    marker = _marker(folder)
    if env_key:
        env = _load_private(env_key.encode())
        if _id(env) in retired:
            raise SigningKeyError(f"{ENV_NAME} holds {_id(env)}, a retired signing key")
        if marker is not None and marker != _id(env):
            raise SigningKeyError(
                f"{ENV_NAME} holds signing key {_id(env)} but {folder / CURRENT_FILE} names "
                f"{marker} as current (rotated since?): set {ENV_NAME} to that key, or unset "
                "it to sign with the folder's keys"
            )
        keys = [k for k in keys if _id(k) != _id(env)] + [env]
        if marker is None and create:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write_atomic(folder / CURRENT_FILE, _id(env) + "\n")
    elif marker is not None:
        chosen = [k for k in keys if _id(k) == marker]
        if not chosen:
            raise SigningKeyError(f"{folder / CURRENT_FILE} names {marker}, not a usable key there")
        keys = [k for k in keys if _id(k) != marker] + chosen
    if not keys:
        if not create:
            raise FileNotFoundError(f"no signing keys in {folder}")
        return rotate(folder)
    keyring = Keyring(keys, retired, folder, env_key)
    keyring._seen = seen
    return keyring


def rotate(folder: Path, env_key: str | None = None) -> Keyring:
    """Create a new signing key, make it current (the marker) and return the whole keyring;
    SigningKeyError while the current key comes from STOPFRAME_SIGNING_KEY."""
    if env_key:
        raise SigningKeyError(f"the signing key comes from {ENV_NAME}: rotate by unsetting it")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    existing = sorted(folder.glob(KEY_GLOB))
    number = int(existing[-1].stem.split("-")[1]) + 1 if existing else 1
    key = Ed25519PrivateKey.generate()
    _write_private(folder / f"ed25519-{number:04d}.pem", key)
    _write_atomic(folder / CURRENT_FILE, _id(key) + "\n")
    return load_keyring(folder, create=False)


def retire(folder: Path, key_id: str, env_key: str | None = None) -> Keyring:
    """Retire a (compromised) key: listed in `retired.json`, its private file deleted, never
    used nor published as valid again; SigningKeyError for the current key (rotate first), an
    unknown one, or while STOPFRAME_SIGNING_KEY is set."""
    if env_key:
        raise SigningKeyError(f"the signing key comes from {ENV_NAME}: retire after unsetting it")
    keyring = load_keyring(folder, create=False)
    if key_id == _id(keyring.keys[-1]):
        raise SigningKeyError(f"{key_id} is the current signing key: rotate first, then retire it")
    files = [
        p for p in sorted(folder.glob(KEY_GLOB)) if _id(_load_private(p.read_bytes())) == key_id
    ]
    if not files or key_id in keyring.retired:
        raise SigningKeyError(f"{key_id} is not a signing key in {folder} that can be retired")
    public = public_key_b64(_load_private(files[0].read_bytes()).public_key())
    retired = dict(keyring.retired, **{key_id: {"public_key": public, "retired_at": iso(utcnow())}})
    _write_atomic(folder / RETIRED_FILE, json.dumps(retired, indent=1, sort_keys=True) + "\n")
    for path in files:
        path.unlink()
    _write_atomic(folder / CURRENT_FILE, _id(keyring.keys[-1]) + "\n")  # last: a new inode
    return load_keyring(folder, create=False)
