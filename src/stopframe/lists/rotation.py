"""Following a registry's signing-key rotations from the keys a consumer pinned.

    statements: {rotations: [envelope], retirements: [envelope]}     # GET /v1/keys/rotations
    rotation:   {type: "key_rotation", version, new_key_id, new_public_key, <stamp>}, signed by
                the key before the new one
    retirement: {type: "key_retirement", version, retired_key_id, retired_public_key,
                 retired_at, <stamp>}, signed by the key current when it was retired

A key is trusted when it is pinned, or named by a rotation statement signed by a trusted key;
a retirement signed by a trusted key (not the retired one itself) takes its key out, and then
everything trusted only through it: statements signed by a retired key are not followed. The
result does not depend on the order statements come in. A statement that does not verify (a
forgery, or signed by a key not trusted) is ignored, so it can add nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from stopframe.errors import TamperedListError
from stopframe.lists.documents import read_stamp
from stopframe.lists.signing import (
    RETIREMENT,
    ROTATION,
    STATEMENT_VERSION,
    key_id_of,
    load_public_key,
    verify_envelope,
)


@dataclass(frozen=True)
class Trust:
    """The keys a consumer may verify documents with, the ones it knows to be retired, and the
    statements that showed it (one a key: what is worth keeping)."""

    keys: dict[str, Ed25519PublicKey]
    retired: frozenset[str]
    rotations: list[Any]
    retirements: list[Any]


def statements_of(body: Any) -> tuple[list[Any], list[Any]]:
    """(rotations, retirements) of a statements document; TamperedListError when malformed."""
    if not isinstance(body, dict):
        raise TamperedListError("key statements are not an object")
    rotations, retirements = body.get("rotations"), body.get("retirements")
    if not isinstance(rotations, list) or not isinstance(retirements, list):
        raise TamperedListError("key statements lack their rotations or retirements list")
    return rotations, retirements


def _payload(
    envelope: Any, trusted: Mapping[str, Ed25519PublicKey], kind: str
) -> dict[str, Any] | None:
    """The verified payload of a statement of `kind`, or None when it cannot be believed."""
    if not isinstance(envelope, dict):
        return None
    try:
        payload = verify_envelope(envelope, trusted)
        read_stamp(payload)
    except TamperedListError:
        return None
    if payload.get("type") != kind or payload.get("version") != STATEMENT_VERSION:
        return None
    return payload


def _named(
    envelope: Any, trusted: Mapping[str, Ed25519PublicKey]
) -> tuple[str, Ed25519PublicKey] | None:
    """The key a believable rotation statement names, or None."""
    payload = _payload(envelope, trusted, ROTATION)
    if payload is None:
        return None
    try:
        public = load_public_key(payload["new_public_key"])
    except (KeyError, TypeError, ValueError):
        return None
    if key_id_of(public) != payload.get("new_key_id"):
        return None
    return key_id_of(public), public


def _closure(
    pinned: Mapping[str, Ed25519PublicKey], rotations: list[Any], retired: set[str]
) -> tuple[dict[str, Ed25519PublicKey], list[Any]]:
    """The pinned keys not retired and every key reached from them by rotation statements, with
    the statements that reached them."""
    trusted = {k: v for k, v in pinned.items() if k not in retired}
    used: list[Any] = []
    grew = True
    while grew:
        grew = False
        for envelope in rotations:
            named = _named(envelope, trusted)
            if named and named[0] not in trusted and named[0] not in retired:
                trusted[named[0]] = named[1]
                used.append(envelope)
                grew = True
    return trusted, used


def _retired_by(envelope: Any, trusted: Mapping[str, Ed25519PublicKey]) -> str | None:
    """The key id a believable retirement statement retires, or None."""
    payload = _payload(envelope, trusted, RETIREMENT)
    if payload is None:
        return None
    retired = payload.get("retired_key_id")
    if not isinstance(retired, str) or retired == payload.get("key_id"):
        return None
    return retired


def follow(
    pinned: Mapping[str, Ed25519PublicKey], rotations: list[Any], retirements: list[Any]
) -> Trust:
    """The keys trusted from `pinned` through the statements, less the retired ones."""
    retired: dict[str, Any] = {}
    while True:
        trusted, used = _closure(pinned, rotations, set(retired))
        newly: dict[str, Any] = {}
        for envelope in retirements:
            key_id = _retired_by(envelope, trusted)
            if key_id is not None and key_id not in retired:
                newly.setdefault(key_id, envelope)
        if not newly:
            return Trust(trusted, frozenset(retired), used, list(retired.values()))
        retired |= newly
