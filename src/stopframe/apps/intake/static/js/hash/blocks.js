// What MD5 and SHA-256 share: bytes buffered into 64-byte blocks, and the final padding
// (0x80, zeros, the message length in bits as 64 bits). Subclasses supply `block(bytes, at)`
// and the byte order of the length.

export class BlockDigest {
  constructor(littleEndian) {
    this.littleEndian = littleEndian;
    this.tail = new Uint8Array(64); // bytes waiting for a full block
    this.held = 0;
    this.length = 0; // total bytes fed
  }

  /** Feed bytes (a Uint8Array); returns this. */
  update(bytes) {
    let at = 0;
    this.length += bytes.length;
    if (this.held) {
      const take = Math.min(64 - this.held, bytes.length);
      this.tail.set(bytes.subarray(0, take), this.held);
      this.held += take;
      at = take;
      if (this.held < 64) return this;
      this.block(this.tail, 0);
      this.held = 0;
    }
    for (; at + 64 <= bytes.length; at += 64) this.block(bytes, at);
    if (at < bytes.length) {
      this.tail.set(bytes.subarray(at), 0);
      this.held = bytes.length - at;
    }
    return this;
  }

  /** Pad and process the last block; the state words then hold the digest. */
  finish() {
    const bits = this.length * 8;
    const pad = new Uint8Array(((this.held + 9 + 63) >> 6) * 64 - this.held);
    pad[0] = 0x80;
    const view = new DataView(pad.buffer);
    const low = bits >>> 0;
    const high = Math.floor(bits / 0x100000000);
    const little = this.littleEndian;
    view.setUint32(pad.length - 8, little ? low : high, little);
    view.setUint32(pad.length - 4, little ? high : low, little);
    this.update(pad);
  }
}
