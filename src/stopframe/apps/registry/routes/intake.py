"""Intake routes: anyone may open an anonymous case by solving a proof-of-work challenge, within
a per-address rate limit; the operator can turn this off (`STOPFRAME_INTAKE_OPEN=false`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from stopframe.apps.registry.auth import client_address, registry
from stopframe.apps.registry.nostore import NO_STORE
from stopframe.apps.registry.ratelimit import take_or_refuse
from stopframe.apps.registry.schemas import CaseCreated, ChallengeOut, IntakeCaseIn
from stopframe.apps.registry.services import cases
from stopframe.apps.registry.state import Registry
from stopframe.errors import Forbidden

router = APIRouter(prefix="/intake", tags=["intake"])
ACTOR = "intake"  # how the audit log names an anonymous opening (never the address)


def _open(reg: Registry) -> None:
    if not reg.settings.intake_open:
        raise Forbidden("this registry does not open cases without an API key")


@router.get("/challenge", response_model=ChallengeOut)
def challenge(reg: Registry = Depends(registry)) -> ChallengeOut:
    """A fresh proof-of-work challenge for opening a case."""
    _open(reg)
    issued = reg.challenges.issue(reg.settings.intake_pow_bits)
    return ChallengeOut(
        challenge=issued.token, difficulty=issued.difficulty, expires_in=issued.expires_in
    )


@router.post("/cases", response_model=CaseCreated, status_code=201, dependencies=NO_STORE)
def open_case(
    body: IntakeCaseIn, request: Request, reg: Registry = Depends(registry)
) -> CaseCreated:
    """Open an anonymous case with a solved challenge. Keep the number and PIN: they are shown
    only this once."""
    _open(reg)
    book = reg.challenges
    expires = book.check(body.challenge, body.nonce, reg.settings.intake_pow_bits)
    take_or_refuse(reg.intake_limits, client_address(request), "address")
    book.spend(body.challenge, expires)
    issued = cases.issue_pin(reg.pins)  # scrypt first: never under the writer lock
    with reg.db.write() as session:
        new = cases.create_case(session, issued, ACTOR)
    return CaseCreated(case_number=new.number, pin=new.pin)
