"""Banks: create, look up, describe."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.lists.canonical import utcnow
from stopframe.apps.registry.models import Bank
from stopframe.apps.registry.problems import Problem
from stopframe.apps.registry.schemas import BankIn, BankOut, SuggestedAction
from stopframe.apps.registry.services.feed import active_count
from stopframe.signals.base import SignalKind


def get_bank(session: Session, name: str) -> Bank:
    """The bank called `name`, or a 404 problem."""
    bank = session.execute(select(Bank).where(Bank.name == name)).scalar_one_or_none()
    if bank is None:
        raise Problem(404, f"no bank named {name!r}")
    return bank


def create_bank(session: Session, spec: BankIn, actor: str) -> Bank:
    """Create a bank; 409 if the name is taken."""
    if session.execute(select(Bank.id).where(Bank.name == spec.name)).first():
        raise Problem(409, f"bank {spec.name!r} already exists")
    bank = Bank(name=spec.name, kinds=",".join(sorted({k.value for k in spec.kinds})),
                distance_threshold=spec.distance_threshold, verified=spec.verified,
                action=spec.action.value, created_at=utcnow())
    session.add(bank)
    session.flush()
    audit.record(session, actor, "bank.create", f"bank:{bank.name}", kinds=bank.kinds,
                 distance_threshold=bank.distance_threshold, verified=bank.verified,
                 action=bank.action)
    return bank


def case_bank(session: Session, name: str, actor: str) -> Bank:
    """The bank case submissions go to, created (self-reported, review) on first use."""
    bank = session.execute(select(Bank).where(Bank.name == name)).scalar_one_or_none()
    if bank is None:
        bank = create_bank(session, BankIn(name=name, kinds=list(SignalKind), verified=False,
                                           action=SuggestedAction.REVIEW), actor)
    return bank


def describe(session: Session, bank: Bank) -> BankOut:
    """A bank's public definition with its active entry count."""
    return BankOut(name=bank.name, kinds=[SignalKind(k) for k in bank.kinds.split(",")],
                   distance_threshold=bank.distance_threshold, verified=bank.verified,
                   action=SuggestedAction(bank.action), entries_active=active_count(session, bank.id))
