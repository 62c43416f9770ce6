// MD5 and SHA-256 of a file's bytes, read in slices so a video of several GB never sits in memory.

import { Md5 } from "./md5.js";
import { Sha256 } from "./sha256.js";

export const CHUNK = 4 * 1024 * 1024;

/** {md5, sha256} of `blob`, calling onProgress(fraction) after each slice. */
export async function digestsOf(blob, onProgress = () => {}, chunk = CHUNK) {
  const md5 = new Md5();
  const sha256 = new Sha256();
  for (let at = 0; at < blob.size; at += chunk) {
    const bytes = new Uint8Array(await blob.slice(at, at + chunk).arrayBuffer());
    md5.update(bytes);
    sha256.update(bytes);
    onProgress(Math.min(1, (at + bytes.length) / blob.size));
  }
  return { md5: md5.hex(), sha256: sha256.hex() };
}
