"""Cache headers for responses that carry a secret (a case PIN or an API key)."""

from __future__ import annotations

from fastapi import Depends, Response


def _no_store(response: Response) -> None:
    """Tell browsers and proxies never to keep the response: the secret is shown only once."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


NO_STORE = [Depends(_no_store)]  # `dependencies=` of a route that answers with a PIN or key
