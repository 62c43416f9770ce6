"""POST /v1/match/hashes and /v1/match/media: signals or one upload in, matches and a decision
out. Media is received into memory only and never logged."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from stopframe.apps.matcher import metrics
from stopframe.apps.matcher.deps import SCOPE_MATCH, require, service
from stopframe.apps.matcher.keys import KeyInfo
from stopframe.apps.matcher.routes import CountedRoute
from stopframe.apps.matcher.schemas import HashesIn, request_body
from stopframe.apps.matcher.service import MatchService, Outcome
from stopframe.apps.matcher.upload import receive
from stopframe.errors import Invalid, TooLarge
from stopframe.matching.match import Match

router = APIRouter(tags=["match"], route_class=CountedRoute)
matcher_key = require(SCOPE_MATCH)
UPLOADS = asyncio.Semaphore(4)  # uploads received and hashed at once by one worker
BYTES_PER_SIGNAL = 4096  # a generous bound on one signal's JSON (vPDQ values are longer)


async def _json_body(request: Request, limit: int) -> Any:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body over the {limit}-byte limit")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise Invalid("the body is not JSON") from None


def _counted(outcome: Outcome, kinds: list[str]) -> None:
    for kind in kinds:
        metrics.LOOKUPS.labels(kind).inc()
    metrics.DECISIONS.labels(outcome.decision.value).inc()
    for match in outcome.matches:
        metrics.MATCHES.labels(match.bank, outcome.decision.value).inc()


@router.post("/match/hashes", openapi_extra={"requestBody": request_body(HashesIn)})
async def match_hashes(
    request: Request,
    key: KeyInfo = Depends(matcher_key),
    svc: MatchService = Depends(service),
) -> JSONResponse:
    """Match a batch of signals: `{"signals": [{"kind", "value", "quality"?}], "content_id"?}`
    answers each signal's matches and decision, and the decision over all of them."""
    done = metrics.timed("hashes")
    body = await _json_body(request, svc.settings.max_batch_hashes * BYTES_PER_SIGNAL)
    if not isinstance(body, dict) or not isinstance(body.get("signals"), list):
        raise Invalid('expected {"signals": [{"kind": ..., "value": ...}, ...]}')
    content_id = body.get("content_id")
    items = body["signals"]
    # in the thread pool: a lookup is CPU work, and a matched request writes the state file,
    # which may wait on another worker's transaction; the event loop must keep answering
    outcome = await run_in_threadpool(svc.match_hashes, items, _text(content_id))
    _counted(outcome, [r.signal.kind for r in outcome.results])
    answer = {
        "request_id": outcome.request_id,
        "decision": outcome.decision.value,
        "results": [
            {
                "kind": r.signal.kind,
                "decision": r.decision.value,
                "matches": [m.to_dict() for m in r.matches],
            }
            for r in outcome.results
        ],
    }
    done()
    return JSONResponse(answer)


@router.post("/match/media")
async def match_media(
    request: Request,
    key: KeyInfo = Depends(matcher_key),
    svc: MatchService = Depends(service),
) -> JSONResponse:
    """Hash one uploaded image or video in memory (multipart field `file`, or the raw body) with
    the code and limits of `stopframe hash`, and match its signals."""
    done = metrics.timed("media")
    svc.require_lists()  # before reading and hashing an upload that could not be matched
    limit = svc.options.limits.max_file_bytes if svc.options.limits else 0
    async with UPLOADS:  # bounds the memory held by uploads in flight, per worker
        ctype = request.headers.get("content-type", "")
        with await receive(ctype, request.stream(), limit) as upload:
            content_id = upload.fields.get("content_id") or request.headers.get("x-content-id")
            record, outcome = await run_in_threadpool(
                svc.match_file, upload.path, "upload", _text(content_id)
            )
    _counted(outcome, [s.kind for s in record.signals])
    answer = {
        "request_id": outcome.request_id,
        "decision": outcome.decision.value,
        "matches": [_answer(m, outcome) for m in outcome.matches],
        "media": {
            "status": record.status, "media_type": record.media_type, "format": record.format,
            "width": record.width, "height": record.height, "duration_s": record.duration_s,
        },
        "signals": [
            {"kind": s.kind, "value": s.value, "quality": s.quality} for s in record.signals
        ],
    }  # fmt: skip
    done()
    return JSONResponse(answer)


def _answer(match: Match, outcome: Outcome) -> dict[str, object]:
    """A match as answered; a listed recording found in stretches of a video upload adds them
    (`segments`: seconds in the upload and in the listed recording, and the share of the
    upload's sampled frames in the stretch that matched)."""
    answer = match.to_dict()
    found = outcome.segments.get(match.key)
    if found:
        answer["segments"] = [
            {
                "query_start": round(s.query_start_s, 2),
                "query_end": round(s.query_end_s, 2),
                "registered_start": round(s.registered_start_s, 2),
                "registered_end": round(s.registered_end_s, 2),
                "score": round(s.score, 3),
            }
            for s in found
        ]
    return answer


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 256:
        raise Invalid("content_id must be text of at most 256 characters")
    return value
