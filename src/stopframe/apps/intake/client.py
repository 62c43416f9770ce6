"""The victim-side HTTP client of a registry's case API: open a case (with an API key, or
anonymously by solving the intake proof of work), add items, follow them, withdraw them.

Only hashes go out: an item is a media word and signals; no file name, path or byte of media.
Every failure is an `IntakeError` whose message says what to do; `.status` is the HTTP status
(0 when the registry could not be reached) and `.retry_after` the wait a 429 asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from stopframe.apps.proof_of_work import solve
from stopframe.errors import StopframeError
from stopframe.signals import Signal


class IntakeError(StopframeError):
    """The registry refused a request or could not be reached."""

    def __init__(self, message: str, status: int = 0, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class OpenedCase:
    """A new case: its number and PIN, which the registry shows only this once."""

    case_number: str
    pin: str


@dataclass(frozen=True)
class ItemToSend:
    """One file's hashes as they go to the registry."""

    media: str
    signals: Sequence[Signal]

    def body(self) -> dict[str, Any]:
        """The item as the API's JSON takes it."""
        return {
            "media": self.media,
            "signals": [
                {"kind": s.kind, "value": s.value, "quality": s.quality} for s in self.signals
            ],
        }


def _detail(response: httpx.Response) -> str:
    """The problem's detail, or the start of the body when it is not problem+json."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", "")) if isinstance(body, dict) else str(body)[:200]


def _error(response: httpx.Response) -> IntakeError:
    """The IntakeError for a refusal, with advice for the usual ones."""
    status = response.status_code
    detail = _detail(response)
    if status == 401:
        return IntakeError(f"the registry refused the credentials: {detail}", status)
    if status == 429:
        wait = response.headers.get("Retry-After", "")
        seconds = int(wait) if wait.isdigit() else None
        later = f"; try again in {seconds} s" if seconds is not None else "; try again later"
        return IntakeError(f"too many requests: {detail}{later}", status, seconds)
    return IntakeError(f"the registry answered {status}: {detail}", status)


class CaseClient:
    """HTTP client for one registry's case and intake routes."""

    def __init__(
        self,
        registry: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        """`registry` is the server root (http://host:port); `http` may supply a ready client."""
        self.registry = registry.rstrip("/")
        self.http = http or httpx.Client(base_url=self.registry, timeout=timeout)
        self.auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def __enter__(self) -> CaseClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _call(
        self, method: str, path: str, pin: str | None = None, json: object | None = None
    ) -> Any:
        headers = dict(self.auth)
        if pin is not None:
            headers["X-Case-Pin"] = pin
        try:
            response = self.http.request(method, path, headers=headers, json=json)
        except httpx.HTTPError as exc:
            raise IntakeError(f"registry at {self.registry} not reachable: {exc}") from None
        if response.status_code >= 400:
            raise _error(response)
        try:
            return response.json()
        except ValueError:
            raise IntakeError(f"{path}: the registry's answer is not JSON") from None

    def open_case(self) -> OpenedCase:
        """Open a case: with the API key when there is one, else by solving a challenge."""
        if self.auth:
            body = self._call("POST", "/v1/cases")
        else:
            challenge = self._call("GET", "/v1/intake/challenge")
            nonce = solve(challenge["challenge"], int(challenge["difficulty"]))
            body = self._call(
                "POST",
                "/v1/intake/cases",
                json={"challenge": challenge["challenge"], "nonce": nonce},
            )
        return OpenedCase(body["case_number"], body["pin"])

    def add_items(self, number: str, pin: str, items: Sequence[ItemToSend]) -> dict[str, Any]:
        """Add items (all or none); the answer holds each item in input order."""
        body = {"items": [item.body() for item in items]}
        answer: dict[str, Any] = self._call("POST", f"/v1/cases/{number}/items", pin, body)
        return answer

    def items(self, number: str, pin: str) -> dict[str, Any]:
        """The case's items with their counts, and the case's totals."""
        answer: dict[str, Any] = self._call("GET", f"/v1/cases/{number}/items", pin)
        return answer

    def withdraw(self, number: str, pin: str, item_id: int) -> dict[str, Any]:
        """Withdraw one item (withdrawing it again changes nothing)."""
        answer: dict[str, Any] = self._call("DELETE", f"/v1/cases/{number}/items/{item_id}", pin)
        return answer
