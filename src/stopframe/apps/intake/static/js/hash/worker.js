// The hashing worker: everything heavy (file digests, decoding and hashing pictures, hashing
// video frames and their registration variants, the proof of work) runs here so the page stays
// responsive. Messages in: {id, op, ...}; out: {id, progress} while working, then {id, result}
// or {id, error: {code, message}}.

import { digestsOf } from "./digests.js";
import { HashError } from "./errors.js";
import { hashPicture } from "./image.js";
import { hashFrame } from "./frame.js";
import { solve } from "./pow.js";
import { frameVariants } from "./variants.js";

const OPERATIONS = {
  digests: ({ file }, progress) => digestsOf(file, progress),
  picture: ({ file, format, limits }, progress) => hashPicture(file, format, limits, progress),
  frame: (message) => hashFrame(message),
  variants: (message) => frameVariants(message),
  pow: ({ challenge, difficulty }) => solve(challenge, difficulty),
};

self.onmessage = async ({ data }) => {
  const { id, op } = data;
  try {
    const result = await OPERATIONS[op](data, (value) => self.postMessage({ id, progress: value }));
    self.postMessage({ id, result });
  } catch (error) {
    const known = error instanceof HashError;
    const code = known ? error.code : error instanceof RangeError ? "too_large" : "corrupt";
    self.postMessage({ id, error: { code, message: known ? error.message : String(error) } });
  }
};
