// The registration variants of one video frame (`vpdq_robust`), as src/stopframe/signals/
// vpdq_robust.py `register_frame` makes them: the frame without its own flat bars, nine crops
// that each cut 7.5 % of both axes with the kept window on a 3 x 3 grid, and the frame turned by
// -4 and +4 degrees inside its own box; each hashed with PDQ. A cropped, mirrored or slightly
// turned copy of the video then still meets it frame by frame at the matcher.

import { lumaPlane, MIN_CONTENT_SHARE } from "./frame.js";
import { JaroszBlock, pdqOfBlock } from "./pdq.js";
import { rotateFloat } from "./resample.js";
import { crop, region } from "./robust.js";

const CUT = 0.075;
const ROTATIONS = [-4, 4];
const GRID = [
  ["t", 0],
  ["m", CUT / 2],
  ["b", CUT],
].flatMap(([v, y]) =>
  [
    ["l", 0],
    ["c", CUT / 2],
    ["r", CUT],
  ].map(([h, x]) => ({ name: `crop-${v}${h}`, left: x, top: y, right: CUT - x, bottom: CUT - y })),
);

/** The variant names in line order (vpdq_robust.py `ROBUST_NAMES`). */
export const VARIANTS = ["full", ...GRID.map((c) => c.name), ...ROTATIONS.map((a) => `rotate${a > 0 ? "+" : ""}${a}`)];

/** The plane without its own bars, unless too little would be left (borders.py). */
function withoutBars(plane, bars) {
  if (!bars) return plane;
  const [top, bottom, left, right] = bars;
  const { width, height } = plane;
  if (Math.min(height - top - bottom, width - left - right) < MIN_CONTENT_SHARE * Math.min(height, width)) {
    return plane;
  }
  return region(plane, top, height - bottom, left, width - right);
}

function pdqOfPlane({ data, width, height }) {
  const jarosz = new JaroszBlock(width, height);
  for (let r = 0; r < height; r++) jarosz.addRow(r, data.subarray(r * width, (r + 1) * width));
  return pdqOfBlock(jarosz.block());
}

/** [{hex, quality}] of an RGBA frame's variants, in `VARIANTS` order. */
export function frameVariants({ pixels, width, height }) {
  const { plane, bars } = lumaPlane(pixels, width, height);
  const content = withoutBars(plane, bars);
  const views = [content, ...GRID.map((c) => crop(content, c)), ...ROTATIONS.map((a) => rotateFloat(content, a))];
  return views.map(pdqOfPlane);
}
