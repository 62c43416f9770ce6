"""POST /v1/reports and /v1/reports/batch: a consumer reports matches and what it did."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from stopframe.apps.registry.auth import Caller, registry, require
from stopframe.apps.registry.models import ApiKey
from stopframe.apps.registry.schemas import ReportBatchIn, ReportBatchOut, ReportIn, ReportOut
from stopframe.apps.registry.services import reports
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import Scope
from stopframe.errors import Unauthorized

router = APIRouter(tags=["reports"])
reporter = require(Scope.REPORT)


def _key(session: Session, caller: Caller) -> ApiKey:
    key = session.get(ApiKey, caller.id)
    if key is None:  # gone since the caller was authenticated
        raise Unauthorized("API key unknown or revoked", challenge="Bearer")
    return key


@router.post("/reports", response_model=ReportOut, status_code=201)
def add_report(
    body: ReportIn, caller: Caller = Depends(reporter), reg: Registry = Depends(registry)
) -> ReportOut:
    """Record that the caller matched an entry and what it did (entry, action, time; never
    media)."""
    with reg.db.write() as session:
        report = reports.add_report(
            session, _key(session, caller), body.entry_id, body.action, body.matched_at
        )
        return ReportOut(id=report.id)


@router.post("/reports/batch", response_model=ReportBatchOut)
def add_reports(
    body: ReportBatchIn, caller: Caller = Depends(reporter), reg: Registry = Depends(registry)
) -> ReportBatchOut:
    """Record up to 1000 matches at once. A report whose key this API key already sent is a
    duplicate and is not counted again, so a batch may be retried; unknown entry ids are listed,
    the rest of the batch still counts."""
    items = [reports.KeyedReport(r.key, r.entry_id, r.action, r.matched_at) for r in body.reports]
    with reg.db.write() as session:
        result = reports.add_reports(session, _key(session, caller), items)
    return ReportBatchOut(
        accepted=result.accepted, duplicates=result.duplicates, unknown=result.unknown
    )
