// What the page says for each failure: hashing errors by HashError code, requests by ApiError kind.

const HASH_ERRORS = {
  empty: "error.hash_empty",
  too_large: "error.hash_too_large",
  unsupported: "error.hash_unsupported",
  corrupt: "error.hash_corrupt",
};

const API_ERRORS = {
  network: "error.network",
  unauthorized: "error.unauthorized",
  not_found: "error.not_found",
  too_large: "error.request_too_large",
  invalid: "error.invalid",
  server: "error.server",
};

/** The catalogue key for a file that could not be hashed (by its HashError code). */
export function hashErrorKey(code) {
  return HASH_ERRORS[code] || "error.hash_failed";
}

/** [key, args] to tell the person about a failed request (a wait for 429s). */
export function apiErrorMessage(error) {
  if (error?.kind === "rate_limited") {
    if (error.retryAfter === null) return ["error.rate_limited", {}];
    return ["error.rate_limited_wait", { minutes: Math.max(1, Math.ceil(error.retryAfter / 60)) }];
  }
  return [API_ERRORS[error?.kind] || "error.unexpected", {}];
}
