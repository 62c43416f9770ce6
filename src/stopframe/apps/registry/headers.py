"""Security headers on every registry answer: JSON is never sniffed, framed, sent as a referrer or
allowed to load anything; a header the answer already has (the mounted page's own) is kept."""

from __future__ import annotations

API_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}
