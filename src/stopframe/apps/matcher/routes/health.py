"""GET /livez, /readyz and /metrics: is the process up, is it serving current lists, and how."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from stopframe.apps.matcher import metrics
from stopframe.apps.matcher.deps import service
from stopframe.apps.matcher.service import MatchService
from stopframe.apps.matcher.status import read_status

router = APIRouter(tags=["health"])


@router.get("/livez")
def livez() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(svc: MatchService = Depends(service)) -> JSONResponse:
    """200 when an index generation is loaded and every source synced within `stale_after_s`;
    503 otherwise, saying which source is stale or failing."""
    manifest = svc.index_set.manifest
    status = read_status(svc.settings.matcher_data_dir)
    now = time.time()
    sources = {}
    problems = []
    if manifest is None:
        problems.append("no index generation loaded yet")
    for name, source in status.sources.items() if status else []:
        age = source.age(now)
        sources[name] = {
            "origin": source.origin, "sequence": source.sequence, "latest": source.latest,
            "lag": source.lag(), "entries": source.entries,
            "last_success_age_s": None if age is None else round(age, 1),
            "last_error": source.last_error, "refused_documents": source.tampered,
            "last_refused": source.last_tampered,
        }  # fmt: skip
        if age is None or age > svc.settings.stale_after_s:
            problems.append(f"{name}: no good sync in {svc.settings.stale_after_s:.0f} s")
    if status is None:
        problems.append("the sync process has not reported yet")
    body = {
        "ready": not problems,
        "problems": problems,
        "generation": manifest.generation if manifest else None,
        "index_rows": {k: svc.index_set.size(k) for k in (manifest.kinds if manifest else {})},
        "sources": sources,
    }
    return JSONResponse(body, status_code=200 if not problems else 503)


@router.get("/metrics")
def metrics_text(svc: MatchService = Depends(service)) -> Response:
    """Prometheus text exposition (see docs/matcher.md for what each metric means)."""
    collector = metrics.ListCollector(svc.index_set, svc.settings.matcher_data_dir)
    return Response(metrics.exposition(collector), media_type=CONTENT_TYPE_LATEST)
