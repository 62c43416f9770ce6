// MD5 (RFC 1321), incremental (blocks.js): only for exact-copy lists that carry MD5.

import { BlockDigest } from "./blocks.js";

const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const T = new Int32Array(64).map((_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000) | 0);

export class Md5 extends BlockDigest {
  constructor() {
    super(true);
    this.h = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
    this.x = new Int32Array(16);
  }

  /** The digest as 32 lowercase hex characters; the object is spent afterwards. */
  hex() {
    this.finish();
    let out = "";
    for (const word of this.h) {
      for (let shift = 0; shift < 32; shift += 8) {
        out += ((word >>> shift) & 0xff).toString(16).padStart(2, "0");
      }
    }
    return out;
  }

  block(bytes, at) {
    const x = this.x;
    for (let i = 0; i < 16; i++, at += 4) {
      x[i] = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
    }
    const h = this.h;
    let a = h[0], b = h[1], c = h[2], d = h[3];
    for (let i = 0; i < 64; i++) {
      let f, g;
      if (i < 16) { f = (b & c) | (~b & d); g = i; }
      else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
      else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
      else { f = c ^ (b | ~d); g = (7 * i) & 15; }
      const s = S[((i >> 4) << 2) | (i & 3)];
      const sum = (a + f + T[i] + x[g]) | 0;
      a = d; d = c; c = b;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
  }
}
