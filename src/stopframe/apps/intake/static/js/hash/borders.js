// Flat borders cut from a small RGB picture before the robust set is taken: the same test as
// src/stopframe/media/borders.py `border_box` (line median colour, tolerance, flat share, two
// passes, at most 45 % cut per side).

const TOLERANCE = 14;
const FLAT_SHARE = 0.96;
const MAX_TRIM = 0.45;
const PASSES = 2;
const SAMPLES = 160;

function median(values) {
  values.sort((x, y) => x - y);
  const middle = values.length >> 1;
  return values.length % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

/** Whether one line of the view is flat: row `index` (axis 0) or column `index` (axis 1). */
function isFlat(picture, box, axis, index) {
  const { rgb, width } = picture;
  const length = axis === 0 ? box.right - box.left : box.bottom - box.top;
  const stride = Math.max(1, Math.floor(length / SAMPLES));
  const offsets = [];
  for (let i = 0; i < length; i += stride) {
    const row = axis === 0 ? box.top + index : box.top + i;
    const col = axis === 0 ? box.left + i : box.left + index;
    offsets.push((row * width + col) * 3);
  }
  const centre = [0, 1, 2].map((ch) => median(offsets.map((at) => rgb[at + ch])));
  let near = 0;
  for (const at of offsets) {
    let deviation = 0;
    for (let ch = 0; ch < 3; ch++) deviation = Math.max(deviation, Math.abs(rgb[at + ch] - centre[ch]));
    if (deviation <= TOLERANCE) near++;
  }
  return near / offsets.length >= FLAT_SHARE;
}

function edgeRun(picture, box, axis, fromEnd) {
  const count = axis === 0 ? box.bottom - box.top : box.right - box.left;
  for (let done = 0; done < count; done++) {
    if (!isFlat(picture, box, axis, fromEnd ? count - 1 - done : done)) return done;
  }
  return count;
}

/** The box {top, left, bottom, right} left once flat borders are cut from `picture` ({rgb, width, height}). */
export function borderBox(picture) {
  const { width, height } = picture;
  const box = { top: 0, left: 0, bottom: height, right: width };
  for (let pass = 0; pass < PASSES; pass++) {
    const runs = [
      edgeRun(picture, box, 0, false),
      edgeRun(picture, box, 0, true),
      edgeRun(picture, box, 1, false),
      edgeRun(picture, box, 1, true),
    ];
    if (runs[0] === box.bottom - box.top || runs[2] === box.right - box.left) break;
    const rowLimit = Math.floor(height * MAX_TRIM);
    const colLimit = Math.floor(width * MAX_TRIM);
    const cutTop = Math.min(runs[0], Math.max(0, rowLimit - box.top));
    const cutBottom = Math.min(runs[1], Math.max(0, rowLimit - (height - box.bottom)));
    const cutLeft = Math.min(runs[2], Math.max(0, colLimit - box.left));
    const cutRight = Math.min(runs[3], Math.max(0, colLimit - (width - box.right)));
    box.top += cutTop;
    box.bottom -= cutBottom;
    box.left += cutLeft;
    box.right -= cutRight;
    if (!(cutTop || cutBottom || cutLeft || cutRight)) break;
  }
  return box;
}
