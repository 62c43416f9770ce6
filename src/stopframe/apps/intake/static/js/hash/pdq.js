// PDQ as src/stopframe/signals/pdq.py computes it: Rec.601 luma, the Jarosz filter (two box
// passes per axis, 64 samples per axis, applied as one band of weights per output), a 16 x 16
// DCT, the median threshold and the gradient quality score. Rows stream in one at a time, so a
// large picture never needs a full-size float copy.

export const SIDE = 64;
const LUMA_R = Math.fround(0.299);
const LUMA_G = Math.fround(0.587);
const LUMA_B = Math.fround(0.114);

/** Jarosz weights along one axis of `size` samples: output k = sum(weights[k][i] * x[start[k] + i]). */
export function jaroszBands(size) {
  const window = Math.max(1, Math.floor((size + 2 * SIDE - 1) / (2 * SIDE)));
  const forward = Math.floor((window + 2) / 2) - 1;
  const back = window - forward - 1;
  const lo = (i) => Math.max(i - back, 0);
  const hi = (i) => Math.min(i + forward, size - 1) + 1;
  const starts = new Int32Array(SIDE);
  const ends = new Int32Array(SIDE);
  const weights = [];
  for (let k = 0; k < SIDE; k++) {
    const sample = Math.floor(((k + 0.5) * size) / SIDE);
    const first = lo(sample);
    const last = hi(sample);
    const start = lo(first);
    const band = new Float64Array(hi(last - 1) - start);
    for (let m = first; m < last; m++) {
      const weight = 1 / ((last - first) * (hi(m) - lo(m)));
      for (let i = lo(m); i < hi(m); i++) band[i - start] += weight;
    }
    starts[k] = start;
    ends[k] = start + band.length;
    weights.push(band);
  }
  return { starts, ends, weights };
}

/** Rec.601 luma of `count` RGBA pixels from `rgba` at pixel `offset`, into a float32 row. */
export function lumaRow(rgba, offset, count, out) {
  for (let c = 0, p = offset * 4; c < count; c++, p += 4) {
    out[c] = LUMA_R * rgba[p] + LUMA_G * rgba[p + 1] + LUMA_B * rgba[p + 2];
  }
  return out;
}

/** The 64 x 64 Jarosz block of a width x height luma picture, fed one row at a time. */
export class JaroszBlock {
  constructor(width, height) {
    this.width = width;
    this.rows = jaroszBands(height);
    this.cols = jaroszBands(width);
    this.partial = new Float64Array(SIDE * width); // the row pass: 64 filtered rows
    this.lowest = 0; // first output whose band has not ended yet
  }

  /** Add row `r` (a float32 luma row of `width` values). Rows may come in any order. */
  addRow(r, luma) {
    const { starts, ends, weights } = this.rows;
    const width = this.width;
    if (r < starts[this.lowest]) this.lowest = 0;
    while (this.lowest < SIDE - 1 && ends[this.lowest] <= r) this.lowest++;
    for (let k = this.lowest; k < SIDE && starts[k] <= r; k++) {
      if (r >= ends[k]) continue;
      const weight = weights[k][r - starts[k]];
      if (weight === 0) continue;
      const out = this.partial;
      for (let c = 0, at = k * width; c < width; c++, at++) out[at] += weight * luma[c];
    }
  }

  /** The finished 64 x 64 block (row-major Float64Array) after every row was added. */
  block() {
    const { starts, weights } = this.cols;
    const out = new Float64Array(SIDE * SIDE);
    for (let k = 0; k < SIDE; k++) {
      const row = k * this.width;
      for (let j = 0; j < SIDE; j++) {
        const band = weights[j];
        let sum = 0;
        for (let i = 0, c = row + starts[j]; i < band.length; i++, c++) sum += band[i] * this.partial[c];
        out[k * SIDE + j] = sum;
      }
    }
    return out;
  }
}

const DCT = (() => {
  const table = new Float64Array(16 * SIDE);
  const scale = Math.sqrt(2 / SIDE);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < SIDE; j++) {
      table[i * SIDE + j] = scale * Math.cos((Math.PI / 2 / SIDE) * ((i + 1) * (2 * j + 1)));
    }
  }
  return table;
})();

/** 0-100 score of how much gradient a 64 x 64 block has (pdq.py `quality_of`). */
export function qualityOf(block) {
  let total = 0;
  for (let r = 0; r < SIDE; r++) {
    for (let c = 0; c < SIDE; c++) {
      const here = block[r * SIDE + c];
      if (r < SIDE - 1) total += Math.abs(Math.trunc(((here - block[(r + 1) * SIDE + c]) * 100) / 255));
      if (c < SIDE - 1) total += Math.abs(Math.trunc(((here - block[r * SIDE + c + 1]) * 100) / 255));
    }
  }
  return Math.min(100, Math.floor(total / 90));
}

/** The 16 x 16 DCT (coefficients 1..16 of each axis) of a 64 x 64 block. */
export function dctOf(block) {
  const half = new Float64Array(16 * SIDE); // DCT @ block
  for (let i = 0; i < 16; i++) {
    for (let r = 0; r < SIDE; r++) {
      const weight = DCT[i * SIDE + r];
      for (let c = 0; c < SIDE; c++) half[i * SIDE + c] += weight * block[r * SIDE + c];
    }
  }
  const out = new Float64Array(256); // (DCT @ block) @ DCT.T
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let c = 0; c < SIDE; c++) sum += half[i * SIDE + c] * DCT[j * SIDE + c];
      out[i * 16 + j] = sum;
    }
  }
  return out;
}

/** Threshold the DCT at its median; bit k (of the big-endian 256-bit value) is coefficient k. */
export function hexOf(dct) {
  const median = Float64Array.from(dct).sort()[127];
  let hex = "";
  for (let nibble = 63; nibble >= 0; nibble--) {
    let value = 0;
    for (let b = 3; b >= 0; b--) value = (value << 1) | (dct[nibble * 4 + b] > median ? 1 : 0);
    hex += value.toString(16);
  }
  return hex;
}

/** PDQ hash and quality of a finished 64 x 64 block. */
export function pdqOfBlock(block) {
  return { hex: hexOf(dctOf(block)), quality: qualityOf(block) };
}

/** Bits that differ between two 64-character hex hashes. */
export function hammingHex(a, b) {
  let count = 0;
  for (let i = 0; i < a.length; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      count++;
    }
  }
  return count;
}
