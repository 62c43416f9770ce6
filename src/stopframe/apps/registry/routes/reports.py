"""POST /v1/reports: a consumer reports a match and what it did."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from stopframe.apps.registry.auth import Caller, registry, require
from stopframe.apps.registry.models import ApiKey
from stopframe.apps.registry.schemas import ReportIn, ReportOut
from stopframe.apps.registry.services import reports
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import Scope
from stopframe.errors import Unauthorized

router = APIRouter(tags=["reports"])
reporter = require(Scope.REPORT)


@router.post("/reports", response_model=ReportOut, status_code=201)
def add_report(
    body: ReportIn, caller: Caller = Depends(reporter), reg: Registry = Depends(registry)
) -> ReportOut:
    """Record that the caller matched an entry and what it did (entry, action, time; never
    media)."""
    with reg.db.write() as session:
        key = session.get(ApiKey, caller.id)
        if key is None:  # gone since the caller was authenticated
            raise Unauthorized("API key unknown or revoked", challenge="Bearer")
        report = reports.add_report(session, key, body.entry_id, body.action, body.matched_at)
        return ReportOut(id=report.id)
