// Pillow's BOX resize and BILINEAR rotate, ported so the robust set sees the pixels Python's
// register_hashes sees: separable passes (horizontal first), 8-bit images in Pillow's 22-bit
// fixed point, float images in double sums stored as float32.

const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;

/** Pillow's box-filter coefficients for `inSize` -> `outSize`: first input and weights per output. */
export function boxCoefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 0.5 * filterScale;
  const first = new Int32Array(outSize);
  const weights = [];
  for (let out = 0; out < outSize; out++) {
    const centre = (out + 0.5) * scale;
    const low = Math.max(0, Math.trunc(centre - support + 0.5));
    const high = Math.min(inSize, Math.trunc(centre + support + 0.5));
    const taps = new Float64Array(Math.max(0, high - low));
    let total = 0;
    for (let x = 0; x < taps.length; x++) {
      const at = (x + low - centre + 0.5) / filterScale;
      taps[x] = at > -0.5 && at <= 0.5 ? 1 : 0;
      total += taps[x];
    }
    if (total !== 0) for (let x = 0; x < taps.length; x++) taps[x] /= total;
    first[out] = low;
    weights.push(taps);
  }
  return { first, weights };
}

const fixed = ({ first, weights }) => ({
  first,
  weights: weights.map((taps) => Int32Array.from(taps, (w) => Math.trunc(0.5 + w * ONE))),
});

const clip8 = (sum) => (sum >= ONE * 256 ? 255 : sum <= 0 ? 0 : Math.floor(sum / ONE));

/** An RGB picture shrunk (box filter, aspect kept) so its long side is at most `side`, fed row
 * by row from RGBA strips: media/resize.py `fit_long_side` on the same pixels. */
export class FitLongSide {
  constructor(width, height, side) {
    const scale = side / Math.max(width, height);
    this.resize = Math.max(width, height) > side;
    this.width = this.resize ? Math.max(1, roundHalfEven(width * scale)) : width;
    this.height = this.resize ? Math.max(1, roundHalfEven(height * scale)) : height;
    this.inWidth = width;
    this.inHeight = height;
    this.horizontal = this.resize ? fixed(boxCoefficients(width, this.width)) : null;
    this.rows = new Uint8Array(height * this.width * 3); // after the horizontal pass
  }

  /** Add input row `r` from `rgba` starting at pixel `offset`. */
  addRow(r, rgba, offset) {
    const out = this.rows;
    let at = r * this.width * 3;
    if (!this.horizontal) {
      for (let c = 0, p = offset * 4; c < this.width; c++, p += 4) {
        out[at++] = rgba[p];
        out[at++] = rgba[p + 1];
        out[at++] = rgba[p + 2];
      }
      return;
    }
    const { first, weights } = this.horizontal;
    for (let x = 0; x < this.width; x++) {
      const taps = weights[x];
      let r0 = HALF, g0 = HALF, b0 = HALF;
      for (let i = 0, p = (offset + first[x]) * 4; i < taps.length; i++, p += 4) {
        const k = taps[i];
        r0 += rgba[p] * k;
        g0 += rgba[p + 1] * k;
        b0 += rgba[p + 2] * k;
      }
      out[at++] = clip8(r0);
      out[at++] = clip8(g0);
      out[at++] = clip8(b0);
    }
  }

  /** The finished picture as {rgb: Uint8Array (H x W x 3), width, height}. */
  finish() {
    if (!this.resize) return { rgb: this.rows, width: this.width, height: this.height };
    const { first, weights } = fixed(boxCoefficients(this.inHeight, this.height));
    const stride = this.width * 3;
    const rgb = new Uint8Array(this.height * stride);
    for (let y = 0; y < this.height; y++) {
      const taps = weights[y];
      for (let c = 0; c < stride; c++) {
        let sum = HALF;
        for (let i = 0, at = first[y] * stride + c; i < taps.length; i++, at += stride) {
          sum += this.rows[at] * taps[i];
        }
        rgb[y * stride + c] = clip8(sum);
      }
    }
    return { rgb, width: this.width, height: this.height };
  }
}

/** A float32 luma picture {data, width, height} box-resized to `width` x `height` (mode F). */
export function resizeFloat(luma, width, height) {
  let { data } = luma;
  let current = luma.width;
  if (width !== luma.width) {
    const { first, weights } = boxCoefficients(luma.width, width);
    const next = new Float32Array(width * luma.height);
    for (let y = 0; y < luma.height; y++) {
      const row = y * luma.width;
      for (let x = 0; x < width; x++) {
        const taps = weights[x];
        let sum = 0;
        for (let i = 0, at = row + first[x]; i < taps.length; i++, at++) sum += data[at] * taps[i];
        next[y * width + x] = sum;
      }
    }
    data = next;
    current = width;
  }
  if (height !== luma.height) {
    const { first, weights } = boxCoefficients(luma.height, height);
    const next = new Float32Array(current * height);
    for (let y = 0; y < height; y++) {
      const taps = weights[y];
      for (let x = 0; x < current; x++) {
        let sum = 0;
        for (let i = 0, at = first[y] * current + x; i < taps.length; i++, at += current) {
          sum += data[at] * taps[i];
        }
        next[y * current + x] = sum;
      }
    }
    data = next;
  }
  return { data, width, height };
}

/** Pillow's `Image.rotate(degrees, BILINEAR)` of a float32 luma picture: same size, black fill. */
export function rotateFloat(luma, degrees) {
  const { data, width, height } = luma;
  const angle = -(((degrees % 360) + 360) % 360) * (Math.PI / 180);
  const round15 = (value) => Number(value.toFixed(15));
  const [a, b, d, e] = [
    round15(Math.cos(angle)),
    round15(Math.sin(angle)),
    round15(-Math.sin(angle)),
    round15(Math.cos(angle)),
  ];
  const cx = width / 2;
  const cy = height / 2;
  const c = a * -cx + b * -cy + 0 + cx;
  const f = d * -cx + e * -cy + 0 + cy;
  const out = new Float32Array(width * height);
  const clampX = (x) => (x < 0 ? 0 : x >= width ? width - 1 : x);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let xin = a * (x + 0.5) + b * (y + 0.5) + c;
      let yin = d * (x + 0.5) + e * (y + 0.5) + f;
      if (xin < 0 || xin >= width || yin < 0 || yin >= height) continue;
      xin -= 0.5;
      yin -= 0.5;
      const x0 = Math.floor(xin);
      const y0 = Math.floor(yin);
      const dx = xin - x0;
      const dy = yin - y0;
      const row = (y0 < 0 ? 0 : y0 >= height ? height - 1 : y0) * width;
      const left = clampX(x0);
      const right = clampX(x0 + 1);
      const top = data[row + left] + (data[row + right] - data[row + left]) * dx;
      let bottom = top;
      if (y0 + 1 >= 0 && y0 + 1 < height) {
        const next = (y0 + 1) * width;
        bottom = data[next + left] + (data[next + right] - data[next + left]) * dx;
      }
      out[y * width + x] = top + (bottom - top) * dy;
    }
  }
  return { data: out, width, height };
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}
