// The registry's page API (same origin): challenge, open a case, add, list and withdraw items.
// Requests carry JSON only (hash values and media kinds), never cookies or file bytes.

const API_BASE = (document.querySelector('meta[name="stopframe-api"]')?.content || "/v1").replace(/\/$/, "");

/** A refused or failed request; `kind` is what the page tells the person (see messages.js). */
export class ApiError extends Error {
  constructor(kind, status, retryAfter = null) {
    super(`${kind} (HTTP ${status})`);
    this.kind = kind;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

const KINDS = { 400: "invalid", 401: "unauthorized", 403: "unauthorized", 404: "not_found", 413: "too_large", 422: "invalid", 429: "rate_limited" };

async function call(method, path, { body, pin } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (pin) headers["X-Case-Pin"] = pin;
  let response;
  try {
    response = await fetch(`${API_BASE}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError("network", 0);
  }
  if (response.ok) return response.json();
  const wait = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  const kind = KINDS[response.status] || (response.status >= 500 ? "server" : "invalid");
  throw new ApiError(kind, response.status, Number.isFinite(wait) ? wait : null);
}

const casePath = (caseNumber) => `/cases/${encodeURIComponent(caseNumber)}/items`;

/** A fresh proof-of-work challenge: {challenge, difficulty, expires_in}. */
export const fetchChallenge = () => call("GET", "/intake/challenge");

/** Open an anonymous case with a solved challenge: {case_number, pin}. */
export const openCase = (challenge, nonce) => call("POST", "/intake/cases", { body: { challenge, nonce } });

/** The first request's worth of `items`: at most `maxItems`, and at most `maxChars` of JSON
 * (`payloadOf` each) unless one item alone is larger, which then goes on its own. */
export function firstBatch(items, payloadOf, maxItems, maxChars) {
  const batch = [];
  let size = 0;
  for (const item of items) {
    const chars = JSON.stringify(payloadOf(item)).length;
    if (batch.length && (batch.length >= maxItems || size + chars > maxChars)) break;
    batch.push(item);
    size += chars;
  }
  return batch;
}

/** Add items ({media, signals}) to a case, all or none: {added, items}. */
export const addItems = (caseNumber, pin, items) => call("POST", casePath(caseNumber), { body: { items }, pin });

/** A case's items and counts. */
export const listItems = (caseNumber, pin) => call("GET", casePath(caseNumber), { pin });

/** Withdraw one item (idempotent): the item as it is now. */
export const withdrawItem = (caseNumber, pin, id) =>
  call("DELETE", `${casePath(caseNumber)}/${encodeURIComponent(id)}`, { pin });
