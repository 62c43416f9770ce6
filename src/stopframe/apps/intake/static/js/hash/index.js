// Hashing on the device, for the intake page: `hashFile` turns a chosen picture or video into
// the signals the registry takes (PDQ, the robust set, vPDQ, MD5, SHA-256) without the file
// leaving the browser; `solveChallenge` does the proof of work for opening a case. The heavy
// work runs in a module worker (worker.js); only video frames are grabbed here, because only
// the page can play a video.

import { HashError, HashWarning } from "./errors.js";
import { checkSize } from "./image.js";
import { endsWhole, imageSize, sniff } from "./sniff.js";
import { hashVideo } from "./video.js";

export { HashError, HashWarning };

/** The same limits as the Python side (config.py MediaSettings and VideoSettings defaults). */
export const LIMITS = Object.freeze({
  maxFileBytes: 256 * 1024 * 1024,
  maxPixels: 200_000_000,
  maxSide: 32_768,
  maxVideoBytes: 8 * 1024 ** 3,
});
const HEAD_BYTES = 256 * 1024; // enough for a JPEG's EXIF block before its frame header
const TAIL_BYTES = 4096;
const UNDECODABLE = ["tiff", "heic", "avif"]; // formats some browsers cannot decode: hashed as files

let worker = null;
let nextId = 0;
const pending = new Map();

function startWorker() {
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data }) => {
    const call = pending.get(data.id);
    if (!call) return;
    if ("progress" in data) return call.onProgress(data.progress);
    pending.delete(data.id);
    if (data.error) call.reject(new HashError(data.error.code, data.error.message));
    else call.resolve(data.result);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    for (const call of pending.values()) call.reject(new HashError("corrupt", "the hashing worker stopped"));
    pending.clear();
    worker = null;
  };
}

/** Run `op` in the worker; resolves with its result, reports progress (0..1) on the way. */
export function callWorker(op, payload = {}, onProgress = () => {}, transfer = []) {
  if (!worker) startWorker();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, op, ...payload }, transfer);
  });
}

const bytesOf = async (blob, start, end) => new Uint8Array(await blob.slice(start, end).arrayBuffer());
const exact = ({ md5, sha256 }) => [
  { kind: "md5", value: md5, quality: null },
  { kind: "sha256", value: sha256, quality: null },
];
const scaled = (onProgress, start, end) => (value) => onProgress(start + (end - start) * value);

async function hashPicture(file, format, head, onProgress) {
  if (file.size > LIMITS.maxFileBytes) {
    throw new HashError("too_large", `the file is ${file.size} bytes, over the limit of ${LIMITS.maxFileBytes}`);
  }
  const stated = imageSize(head, format);
  if (stated) checkSize(stated.width, stated.height, LIMITS);
  if (!endsWhole(await bytesOf(file, Math.max(0, file.size - TAIL_BYTES), file.size), format)) {
    throw new HashError("corrupt", `the ${format} file is cut short (truncated)`);
  }
  const picture = await callWorker("picture", { file, format, limits: LIMITS }, scaled(onProgress, 0, 0.7));
  const digests = await callWorker("digests", { file }, scaled(onProgress, 0.7, 1));
  if (!picture) {
    if (!UNDECODABLE.includes(format)) throw new HashError("corrupt", `the ${format} picture cannot be decoded`);
    const warning = new HashWarning("not_decoded", `this browser cannot read ${format} pictures: only exact copies will be found`);
    return { media: "other", signals: exact(digests), width: null, height: null, duration: null, warnings: [warning] };
  }
  const signals = [{ kind: "pdq", value: picture.pdq.hex, quality: picture.pdq.quality }];
  const warnings = picture.warnings.map((w) => new HashWarning(w.code, w.message));
  if (picture.robust) {
    const quality = Number(picture.robust.split(",")[1]);
    signals.push({ kind: "pdq_robust", value: picture.robust, quality });
  }
  if (picture.pdq.quality < 50) {
    warnings.push(new HashWarning("low_quality", "the picture has too little detail to be found by its look; exact copies will still be found"));
  }
  return { media: "photo", signals: [...signals, ...exact(digests)], width: picture.width, height: picture.height, duration: null, warnings };
}

async function hashMovie(file, format, onProgress) {
  if (file.size > LIMITS.maxVideoBytes) {
    throw new HashError("too_large", `the file is ${file.size} bytes, over the limit of ${LIMITS.maxVideoBytes}`);
  }
  const digests = callWorker("digests", { file }, scaled(onProgress, 0, 0.3));
  const video = await hashVideo(file, LIMITS, callWorker, scaled(onProgress, 0.3, 1));
  const signals = exact(await digests);
  if (!video) {
    const warning = new HashWarning("not_played", `this browser cannot play this ${format} video: only exact copies will be found`);
    return { media: "other", signals, width: null, height: null, duration: null, warnings: [warning] };
  }
  return {
    media: "video",
    signals: [
      { kind: "vpdq", value: video.lines, quality: null },
      ...(video.variants ? [{ kind: "vpdq_robust", value: video.variants, quality: null }] : []),
      ...signals,
    ],
    width: video.width,
    height: video.height,
    duration: video.duration,
    warnings: video.warnings,
  };
}

/** Hash one chosen file on this device: {media, signals, width, height, duration, warnings}.
 * Rejects with a HashError whose code is "empty", "too_large", "unsupported" or "corrupt". */
export async function hashFile(file, { onProgress = () => {} } = {}) {
  if (!(file instanceof Blob)) throw new TypeError("hashFile takes a File or Blob");
  if (file.size === 0) throw new HashError("empty", "the file is empty (0 bytes)");
  const head = await bytesOf(file, 0, HEAD_BYTES);
  const found = sniff(head);
  if (!found) throw new HashError("unsupported", "the file is not a picture or video format this page knows");
  const result = found.kind === "image"
    ? await hashPicture(file, found.format, head, onProgress)
    : await hashMovie(file, found.format, onProgress);
  onProgress(1);
  return result;
}

/** The nonce that solves a registry challenge (SHA-256 of `challenge:nonce` with `difficulty`
 * leading zero bits), found in the worker. */
export async function solveChallenge(challenge, difficulty) {
  if (typeof challenge !== "string" || !Number.isInteger(difficulty) || difficulty < 0 || difficulty > 40) {
    throw new TypeError("solveChallenge takes a challenge string and a difficulty of 0 to 40 bits");
  }
  return callWorker("pow", { challenge, difficulty });
}

/** Stop the hashing worker at once (the page's quick exit); calls under way never settle. */
export function stopWorker() {
  worker?.terminate();
  worker = null;
  pending.clear();
}
