// One video frame in the worker: its PDQ (inside an optional content box) and its own flat bar
// widths (media/borders.py `frame_bars`), which the page pools over the clip to find letterboxes;
// or its luma as one plane with those bars, for the frame's registration variants.

import { JaroszBlock, lumaRow, pdqOfBlock } from "./pdq.js";

const FLAT_STD = 3.0;
const COLOUR_TOLERANCE = 6.0;
const MAX_BAR_SHARE = 0.35;
export const MIN_CONTENT_SHARE = 0.25; // bars are cut only where this share of each axis is left

function barWidth(means, stds, limit, reverse) {
  const at = (i) => (reverse ? means.length - 1 - i : i);
  const outer = means[at(0)];
  let count = 0;
  while (count < limit && stds[at(count)] <= FLAT_STD && Math.abs(means[at(count)] - outer) <= COLOUR_TOLERANCE) count++;
  return count;
}

const spread = (sum, squares, n) => Math.sqrt(Math.max(0, squares / n - (sum / n) ** 2));

/** Row and column luma statistics of a frame, fed one row at a time, and the flat bars they
 * show (media/borders.py `frame_bars`). */
class LineStats {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.rowMean = new Float64Array(height);
    this.rowStd = new Float64Array(height);
    this.colSum = new Float64Array(width);
    this.colSquares = new Float64Array(width);
    this.total = 0;
    this.totalSquares = 0;
  }

  add(r, luma) {
    let sum = 0;
    let squares = 0;
    for (let c = 0; c < this.width; c++) {
      const value = luma[c];
      sum += value;
      squares += value * value;
      this.colSum[c] += value;
      this.colSquares[c] += value * value;
    }
    this.rowMean[r] = sum / this.width;
    this.rowStd[r] = spread(sum, squares, this.width);
    this.total += sum;
    this.totalSquares += squares;
  }

  /** [top, bottom, left, right], or null when the whole frame is flat. */
  bars() {
    const { width, height, rowMean, rowStd } = this;
    if (spread(this.total, this.totalSquares, width * height) <= FLAT_STD) return null;
    const colMean = this.colSum.map((sum) => sum / height);
    const colStd = this.colSum.map((sum, c) => spread(sum, this.colSquares[c], height));
    const rowLimit = Math.floor(height * MAX_BAR_SHARE);
    const colLimit = Math.floor(width * MAX_BAR_SHARE);
    return [
      barWidth(rowMean, rowStd, rowLimit, false),
      barWidth(rowMean, rowStd, rowLimit, true),
      barWidth(colMean, colStd, colLimit, false),
      barWidth(colMean, colStd, colLimit, true),
    ];
  }
}

/** Rec.601 luma of an RGBA frame as one float32 plane, and its own flat bars (or null). */
export function lumaPlane(pixels, width, height) {
  const rgba = new Uint8ClampedArray(pixels);
  const data = new Float32Array(width * height);
  const stats = new LineStats(width, height);
  for (let r = 0; r < height; r++) {
    stats.add(r, lumaRow(rgba, r * width, width, data.subarray(r * width, (r + 1) * width)));
  }
  return { plane: { data, width, height }, bars: stats.bars() };
}

/** {hex, quality, bars} of an RGBA frame; `box` ({top, left, bottom, right}) crops before PDQ.
 * `bars` is [top, bottom, left, right], or null when the whole frame is flat. */
export function hashFrame({ pixels, width, height, box }) {
  const rgba = new Uint8ClampedArray(pixels);
  const crop = box || { top: 0, left: 0, bottom: height, right: width };
  const jarosz = new JaroszBlock(crop.right - crop.left, crop.bottom - crop.top);
  const luma = new Float32Array(width);
  const stats = new LineStats(width, height);
  for (let r = 0; r < height; r++) {
    stats.add(r, lumaRow(rgba, r * width, width, luma));
    if (r >= crop.top && r < crop.bottom) jarosz.addRow(r - crop.top, luma.subarray(crop.left, crop.right));
  }
  return { ...pdqOfBlock(jarosz.block()), bars: stats.bars() };
}
