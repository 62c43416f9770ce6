// Proof of work for opening a case: the nonce (a base-36 counter) whose SHA-256 of
// `challenge + ":" + nonce` starts with at least `difficulty` zero bits.

import { Sha256 } from "./sha256.js";

function leadingZeros(words) {
  let count = 0;
  for (const word of words) {
    if (word !== 0) return count + Math.clz32(word);
    count += 32;
  }
  return count;
}

/** The first nonce ("0", "1", ... in base 36) that meets `difficulty`. */
export function solve(challenge, difficulty) {
  const prefix = new TextEncoder().encode(`${challenge}:`);
  const message = new Uint8Array(prefix.length + 32);
  message.set(prefix);
  for (let counter = 0; ; counter++) {
    const nonce = counter.toString(36);
    for (let i = 0; i < nonce.length; i++) message[prefix.length + i] = nonce.charCodeAt(i);
    const hasher = new Sha256().update(message.subarray(0, prefix.length + nonce.length));
    hasher.hex();
    if (leadingZeros(hasher.h) >= difficulty) return nonce;
  }
}
