// The robust registration set (`pdq_robust`) as src/stopframe/signals/pdq_robust.py
// `register_hashes` makes it: the picture fitted to 256 px, flat borders trimmed, then the whole
// picture, the untrimmed picture, canonical crops and small rotations, each hashed from the
// symmetric canonical block; duplicates and hashes of quality under 50 dropped.

import { borderBox } from "./borders.js";
import { pdqOfBlock } from "./pdq.js";
import { resizeFloat, rotateFloat, roundHalfEven } from "./resample.js";

export const WORK_SIDE = 256;
const MIN_QUALITY = 50;
const ROTATIONS = [-9, -6, -3, 3, 6, 9];
const LUMA = [Math.fround(0.299), Math.fround(0.587), Math.fround(0.114)];

const CROPS = [
  ...[0.025, 0.05, 0.075, 0.1].map((c) => ({
    name: `centre${100 - roundHalfEven(200 * c)}`,
    left: c,
    top: c,
    right: c,
    bottom: c,
  })),
  ...[0.04, 0.08, 0.12, 0.16, 0.2].flatMap((c) =>
    ["left", "right", "top", "bottom"].map((side) => ({
      name: `${side}${roundHalfEven(100 * c)}`,
      left: 0,
      top: 0,
      right: 0,
      bottom: 0,
      [side]: c,
    })),
  ),
];

/** Float32 luma of the `box` region of an RGB picture. */
function lumaOf({ rgb, width }, box) {
  const w = box.right - box.left;
  const h = box.bottom - box.top;
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0, at = ((box.top + y) * width + box.left) * 3; x < w; x++, at += 3) {
      data[y * w + x] = LUMA[0] * rgb[at] + LUMA[1] * rgb[at + 1] + LUMA[2] * rgb[at + 2];
    }
  }
  return { data, width: w, height: h };
}

/** The part of a float luma plane left when the shares `c.top` ... `c.right` of its height and
 * width are cut (`Crop.apply`, Python's round-half-even). */
export function crop(luma, c) {
  const top = roundHalfEven(luma.height * c.top);
  const bottom = luma.height - roundHalfEven(luma.height * c.bottom);
  const left = roundHalfEven(luma.width * c.left);
  const right = luma.width - roundHalfEven(luma.width * c.right);
  return region(luma, top, bottom, left, right);
}

/** Rows `top` to `bottom` and columns `left` to `right` (exclusive) of a float luma plane. */
export function region(luma, top, bottom, left, right) {
  const width = Math.max(0, right - left);
  const height = Math.max(0, bottom - top);
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    data.set(luma.data.subarray((top + y) * luma.width + left, (top + y) * luma.width + right), y * width);
  }
  return { data, width, height };
}

/** The 64 x 64 block robust hashes come from: box-average to 128 x 128, a [1 2 1] blur per axis
 * (edges repeated), then 2 x 2 means, which together weigh rows 2i-1..2i+2 by 1/8, 3/8, 3/8, 1/8. */
export function canonicalBlock(luma) {
  const square = resizeFloat(luma, 128, 128).data;
  const taps = [0.125, 0.375, 0.375, 0.125];
  const clamp = (i) => (i < 0 ? 0 : i > 127 ? 127 : i);
  const half = new Float64Array(64 * 128);
  for (let i = 0; i < 64; i++) {
    for (let t = 0; t < 4; t++) {
      const row = clamp(2 * i - 1 + t) * 128;
      for (let c = 0; c < 128; c++) half[i * 128 + c] += taps[t] * square[row + c];
    }
  }
  const block = new Float64Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 64; j++) {
      let sum = 0;
      for (let t = 0; t < 4; t++) sum += taps[t] * half[i * 128 + clamp(2 * j - 1 + t)];
      block[i * 64 + j] = sum;
    }
  }
  return block;
}

/** The registration set of a picture already fitted to WORK_SIDE ({rgb, width, height}), as
 * `format_robust_set` text ("" when the whole picture's hash is below quality 50). */
export function registerSet(small) {
  const box = borderBox(small);
  const base = lumaOf(small, box);
  const whole = pdqOfBlock(canonicalBlock(base));
  if (whole.quality < MIN_QUALITY) return "";
  const variants = [];
  if (base.width !== small.width || base.height !== small.height) {
    variants.push(["untrimmed", lumaOf(small, { top: 0, left: 0, bottom: small.height, right: small.width })]);
  }
  for (const c of CROPS) variants.push([c.name, crop(base, c)]);
  for (const angle of ROTATIONS) variants.push([`rotate${angle > 0 ? "+" : ""}${angle}`, rotateFloat(base, angle)]);
  const hashes = [["full", whole]];
  for (const [name, luma] of variants) hashes.push([name, pdqOfBlock(canonicalBlock(luma))]);
  const seen = new Set();
  const lines = [];
  for (const [name, { hex, quality }] of hashes) {
    if (seen.has(hex)) continue;
    seen.add(hex);
    if (quality >= MIN_QUALITY) lines.push(`${name},${quality},${hex}`);
  }
  return lines.join("\n");
}
