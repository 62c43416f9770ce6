// The one error hashing rejects with: `code` says what went wrong (the page translates it),
// `message` says it in English.

export const CODES = ["empty", "too_large", "unsupported", "corrupt"];

export class HashError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "HashError";
    this.code = code;
  }
}

/** A note about a finished hash (e.g. a video the browser cannot play): a code and English text. */
export class HashWarning {
  constructor(code, message) {
    this.code = code;
    this.message = message;
  }

  toString() {
    return this.message;
  }
}
