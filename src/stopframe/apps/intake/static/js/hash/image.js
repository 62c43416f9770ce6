// A picture's PDQ and robust set from the browser's own decoder, in the worker: the file is
// decoded once (EXIF orientation applied, no colour management, as Pillow does) and its pixels
// read in strips of rows, each strip feeding both the Jarosz filter and the 256 px copy.

import { HashError, HashWarning } from "./errors.js";
import { JaroszBlock, lumaRow, pdqOfBlock } from "./pdq.js";
import { FitLongSide } from "./resample.js";
import { registerSet, WORK_SIDE } from "./robust.js";

const STRIP_PIXELS = 1 << 22; // pixels read back per strip: 16 MB of RGBA at a time
const MAX_EXACT_PIXELS = 50_000_000; // transparent pictures re-read whole for their stored colours

/** Refuse sizes over the limits (the same checks as media/images.py `_check_header`). */
export function checkSize(width, height, limits) {
  if (width < 1 || height < 1) throw new HashError("corrupt", `the picture has an empty size ${width}x${height}`);
  if (Math.max(width, height) > limits.maxSide) {
    throw new HashError("too_large", `${width}x${height} has a side over the limit of ${limits.maxSide} px`);
  }
  if (width * height > limits.maxPixels) {
    throw new HashError("too_large", `${width}x${height} is over the limit of ${limits.maxPixels} pixels`);
  }
}

async function decode(file) {
  try {
    return await createImageBitmap(file, {
      imageOrientation: "from-image",
      premultiplyAlpha: "none",
      colorSpaceConversion: "none",
    });
  } catch {
    return null;
  }
}

/** Hash the rows of a width x height picture read strip by strip: readStrip(top, count) gives
 * RGBA bytes. Returns {pdq, robust, transparent}. */
function hashRows(width, height, readStrip, onProgress) {
  const rows = Math.max(1, Math.min(height, Math.floor(STRIP_PIXELS / width)));
  const jarosz = new JaroszBlock(width, height);
  const small = new FitLongSide(width, height, WORK_SIDE);
  const luma = new Float32Array(width);
  let transparent = false;
  for (let top = 0; top < height; top += rows) {
    const count = Math.min(rows, height - top);
    const { rgba, offset } = readStrip(top, count);
    for (let r = 0; r < count; r++) {
      jarosz.addRow(top + r, lumaRow(rgba, offset + r * width, width, luma));
      small.addRow(top + r, rgba, offset + r * width);
    }
    const end = (offset + count * width) * 4;
    for (let i = offset * 4 + 3; !transparent && i < end; i += 4) transparent = rgba[i] !== 255;
    onProgress((top + count) / height);
  }
  return { pdq: pdqOfBlock(jarosz.block()), robust: registerSet(small.finish()), transparent };
}

/** The stored (unpremultiplied) RGBA pixels of a picture with transparency, through WebCodecs'
 * ImageDecoder: a canvas keeps colours premultiplied, which loses what hides behind alpha 0,
 * while Python hashes the stored colours (media/colour.py). Null where that is not available. */
async function storedPixels(file, format, width, height) {
  if (typeof ImageDecoder === "undefined" || width * height > MAX_EXACT_PIXELS) return null;
  const type = `image/${format}`;
  try {
    if (!(await ImageDecoder.isTypeSupported(type))) return null;
    const decoder = new ImageDecoder({ data: file.stream(), type, premultiplyAlpha: "none", colorSpaceConversion: "none" });
    const { image } = await decoder.decode({ frameIndex: 0 });
    try {
      if (image.displayWidth !== width || image.displayHeight !== height) return null;
      if (!["RGBA", "RGBX", "BGRA", "BGRX"].includes(image.format)) return null;
      if (image.allocationSize() !== width * height * 4) return null;
      const rgba = new Uint8Array(width * height * 4);
      await image.copyTo(rgba); // as stored: a format conversion would premultiply on the way
      if (image.format.startsWith("BGR")) {
        for (let i = 0; i < rgba.length; i += 4) [rgba[i], rgba[i + 2]] = [rgba[i + 2], rgba[i]];
      }
      return rgba;
    } finally {
      image.close();
      decoder.close();
    }
  } catch {
    return null;
  }
}

/** {pdq, robust, width, height, warnings} of an image file of `format`, or null when the
 * browser cannot decode it; onProgress(0..1). */
export async function hashPicture(file, format, limits, onProgress) {
  const bitmap = await decode(file);
  if (!bitmap) return null;
  const { width, height } = bitmap;
  let hashed;
  try {
    checkSize(width, height, limits);
    const rows = Math.max(1, Math.min(height, Math.floor(STRIP_PIXELS / width)));
    const canvas = new OffscreenCanvas(width, rows);
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.imageSmoothingEnabled = false;
    context.globalCompositeOperation = "copy";
    const readStrip = (top, count) => {
      context.drawImage(bitmap, 0, top, width, count, 0, 0, width, count);
      return { rgba: context.getImageData(0, 0, width, count).data, offset: 0 };
    };
    hashed = hashRows(width, height, readStrip, onProgress);
  } finally {
    bitmap.close();
  }
  const warnings = [];
  if (hashed.transparent) {
    const stored = await storedPixels(file, format, width, height);
    if (stored) hashed = hashRows(width, height, (top) => ({ rgba: stored, offset: top * width }), () => {});
    else warnings.push(new HashWarning("transparent", "the picture has transparent parts; their hidden colours may hash differently"));
  }
  return { pdq: hashed.pdq, robust: hashed.robust, width, height, warnings };
}
