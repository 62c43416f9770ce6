"""Banks: create (with a threshold checked against the kinds' own bounds), look up, count."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.apps.registry.models import Bank
from stopframe.apps.registry.terms import SuggestedAction
from stopframe.errors import Conflict, Invalid, NotFound, UnknownSignalType
from stopframe.lists.canonical import utcnow
from stopframe.signals import SIGNAL_TYPES, SignalType


def get_bank(session: Session, name: str) -> Bank:
    """The bank called `name`, or NotFound."""
    bank = session.execute(select(Bank).where(Bank.name == name)).scalar_one_or_none()
    if bank is None:
        raise NotFound(f"no bank named {name!r}")
    return bank


def list_banks(session: Session) -> list[Bank]:
    """Every bank, by name."""
    return list(session.execute(select(Bank).order_by(Bank.name)).scalars())


# A bank's own ceiling, under the kind's: PDQ codes 64 bits apart (a quarter of 256) are
# different pictures, so a bank matching at more would flag unrelated uploads.
BANK_CEILING = {"pdq": 64, "pdq_robust": 64}


def bank_bound(signal_type: SignalType) -> int:
    """The largest distance threshold a bank may set for a kind: its own maximum, or less."""
    return min(
        signal_type.max_threshold, BANK_CEILING.get(signal_type.name, signal_type.max_threshold)
    )


def threshold_for(kinds: Sequence[str], threshold: int | None) -> int:
    """The bank's distance threshold: at most the smallest maximum among its kinds that have a
    distance scale; by default `SIGNAL_TYPES.bank_default_threshold`, which consumers read as
    "each kind at its own default"."""
    if threshold is None:
        return SIGNAL_TYPES.bank_default_threshold(kinds)
    scaled = [SIGNAL_TYPES[k] for k in kinds if SIGNAL_TYPES[k].max_threshold > 0]
    bound = min((bank_bound(t) for t in scaled), default=0)
    if threshold > bound:
        which = ", ".join(t.name for t in scaled) or "exact digests only"
        raise Invalid(
            f"distance_threshold {threshold} is over {bound}, the most the bank's "
            f"kinds allow ({which})"
        )
    return threshold


def create_bank(
    session: Session,
    name: str,
    kinds: Sequence[str],
    actor: str,
    *,
    distance_threshold: int | None = None,
    verified: bool = False,
    action: SuggestedAction = SuggestedAction.REVIEW,
) -> Bank:
    """Create a bank and audit it; Conflict if the name is taken, Invalid for a bad threshold."""
    try:
        kinds = [SIGNAL_TYPES[kind].name for kind in kinds]
    except UnknownSignalType as exc:
        raise Invalid(str(exc)) from None
    if session.execute(select(Bank.id).where(Bank.name == name)).first():
        raise Conflict(f"bank {name!r} already exists")
    bank = Bank(
        name=name,
        kinds=",".join(sorted(set(kinds))),
        distance_threshold=threshold_for(kinds, distance_threshold),
        verified=verified,
        action=action.value,
        created_at=utcnow(),
    )
    session.add(bank)
    session.flush()
    audit.record(
        session,
        actor,
        "bank.create",
        f"bank:{bank.name}",
        kinds=bank.kinds,
        distance_threshold=bank.distance_threshold,
        verified=bank.verified,
        action=bank.action,
    )
    return bank


def case_bank(session: Session, name: str, actor: str) -> Bank:
    """The bank case submissions go to, created (every registered kind, review) on first use."""
    bank = session.execute(select(Bank).where(Bank.name == name)).scalar_one_or_none()
    if bank is None:
        bank = create_bank(session, name, list(SIGNAL_TYPES), actor)
    return bank
