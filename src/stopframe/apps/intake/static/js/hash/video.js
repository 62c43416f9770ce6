// vPDQ of a video through the browser's own decoder: a <video> element seeks to one frame per
// second, each frame is drawn to a canvas and its pixels go to the worker for PDQ. Then, every
// half second, each frame's registration variants (`vpdq_robust`: crops and small turns, see
// variants.js), so that cropped or turned copies of the recording are found too. Frames are
// numbered as src/stopframe/media/video.py numbers them (every int(fps)-th frame, timestamp =
// frame / fps in single precision). Letterbox and pillarbox bars that hold over the clip are found
// from those same frames (Python looks at key frames) and, when there are any, the frames are
// taken again cropped to the content.

import { HashError } from "./errors.js";
import { MIN_CONTENT_SHARE } from "./frame.js";
import { mp4Timing } from "./mp4.js";
import { VARIANTS } from "./variants.js";

const INTERVAL_S = 1;
const VARIANTS_INTERVAL_S = 0.5; // vpdq_robust.py REGISTER_RATE
// A long video's variants are sampled more sparsely so that, with its vPDQ (1.3 MB for 4 hours),
// its item stays under the registry's default 4 MiB request body: at 0.5 s up to about 15 minutes.
const VARIANTS_MAX_CHARS = 2_000_000;
const VARIANT_LINE_CHARS = 90; // "frame,crop-tl,100,<64 hex>,seconds" with room
const FALLBACK_FPS = 30; // containers without a readable sample table: only frame numbers differ
const LOAD_TIMEOUT_MS = 20000;
const MAX_FRAME_PIXELS = 8192 * 8192;
const MIN_BAR = 2;
const HOLDS_IN_SHARE = 0.8;
const PRESENT_WAIT_MS = 250; // longest wait for a sought frame to be shown, where it is announced

function waitFor(target, event, timeoutMs = LOAD_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const done = (ok, value) => {
      clearTimeout(timer);
      target.removeEventListener(event, onEvent);
      target.removeEventListener("error", onError);
      (ok ? resolve : reject)(value);
    };
    const onEvent = () => done(true);
    const onError = () => done(false, new Error("the video cannot be played"));
    const timer = setTimeout(() => done(false, new Error("the video did not load in time")), timeoutMs);
    target.addEventListener(event, onEvent);
    target.addEventListener("error", onError);
  });
}

/** The clip's content box from per-frame bar widths (media/borders.py `detect_content_box`). */
export function contentBox(widths, width, height) {
  const found = widths.filter(Boolean);
  if (!found.length) return null;
  const side = [0, 1, 2, 3].map((k) => {
    const sorted = found.map((bars) => bars[k]).sort((a, b) => a - b);
    const value = sorted[Math.floor((1 - HOLDS_IN_SHARE) * (sorted.length - 1))];
    return value < MIN_BAR ? 0 : value;
  });
  const box = { top: side[0], left: side[2], bottom: height - side[1], right: width - side[3] };
  if (box.bottom - box.top < height * MIN_CONTENT_SHARE || box.right - box.left < width * MIN_CONTENT_SHARE) {
    return null;
  }
  return side.every((value) => value === 0) ? null : box;
}

/** Seek to `seconds` and wait until that frame is the one shown: "seeked" can come before the
 * new frame is presented on a busy machine, and drawing then would take the previous frame. */
async function showFrame(video, seconds) {
  const presented =
    typeof video.requestVideoFrameCallback === "function"
      ? new Promise((resolve) => video.requestVideoFrameCallback(() => resolve()))
      : null;
  video.currentTime = seconds;
  await waitFor(video, "seeked");
  if (presented) {
    await Promise.race([presented, new Promise((resolve) => setTimeout(resolve, PRESENT_WAIT_MS))]);
  }
}

/** The worker's `op` on each numbered frame (whole, cropped to `box` by "frame" when given). */
async function grabFrames(video, numbers, fps, op, box, callWorker, onProgress) {
  const { videoWidth: width, videoHeight: height } = video;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const out = [];
  for (const [index, number] of numbers.entries()) {
    await showFrame(video, Math.min((number + 0.5) / fps, Math.max(0, video.duration - 0.001)));
    context.drawImage(video, 0, 0, width, height);
    const pixels = context.getImageData(0, 0, width, height).data.buffer;
    out.push(await callWorker(op, { pixels, width, height, box }, () => {}, [pixels]));
    onProgress((index + 1) / numbers.length);
  }
  return out;
}

/** Every `step`-th frame number of a clip of `frames` frames. */
function sampled(frames, step) {
  const numbers = [];
  for (let n = 0; n < frames; n += step) numbers.push(n);
  return numbers;
}

/** A frame's timestamp as media/video.py gives it: frame / fps in single precision. */
const secondsOf = (n, fps) => Math.fround(Math.fround(n) / Math.fround(fps)).toFixed(3);

/** {lines, variants, width, height, duration, warnings} for a video file (`lines` its vPDQ,
 * `variants` its vpdq_robust text), or null when this browser cannot play it. `callWorker` runs
 * worker operations (index.js). */
export async function hashVideo(file, limits, callWorker, onProgress) {
  const video = document.createElement("video");
  video.muted = true;
  video.preload = "auto";
  const url = URL.createObjectURL(file);
  try {
    video.src = url;
    try {
      await waitFor(video, "loadeddata");
    } catch {
      return null;
    }
    const { videoWidth: width, videoHeight: height, duration } = video;
    if (!width || !height || !Number.isFinite(duration)) return null;
    if (width * height > Math.min(MAX_FRAME_PIXELS, limits.maxPixels) || Math.max(width, height) > limits.maxSide) {
      throw new HashError("too_large", `${width}x${height} video frames are over the size limit`);
    }
    const timing = await mp4Timing(file);
    const warnings = [];
    const fps = timing ? timing.fps : FALLBACK_FPS;
    const frames = timing ? timing.frames : Math.max(1, Math.round(duration * fps));
    const numbers = sampled(frames, Math.max(1, Math.floor(INTERVAL_S * fps)));
    let hashed = await grabFrames(video, numbers, fps, "frame", null, callWorker, (v) => onProgress(0.2 * v));
    const box = contentBox(hashed.map((frame) => frame.bars), width, height);
    if (box) {
      hashed = await grabFrames(video, numbers, fps, "frame", box, callWorker, (v) => onProgress(0.2 + 0.1 * v));
    }
    const lines = numbers.map((n, i) => `${n},${hashed[i].quality},${hashed[i].hex},${secondsOf(n, fps)}`).join("\n");
    const fitting = Math.max(1, Math.floor(VARIANTS_MAX_CHARS / (VARIANTS.length * VARIANT_LINE_CHARS)));
    const every = sampled(frames, Math.max(1, Math.floor(VARIANTS_INTERVAL_S * fps), Math.ceil(frames / fitting)));
    const turned = await grabFrames(video, every, fps, "variants", null, callWorker, (v) => onProgress(0.3 + 0.7 * v));
    const variants = every
      .flatMap((n, i) =>
        turned[i].map(({ quality, hex }, k) => `${n},${VARIANTS[k]},${quality},${hex},${secondsOf(n, fps)}`),
      )
      .join("\n");
    return { lines, variants, width, height, duration, warnings };
  } finally {
    video.removeAttribute("src");
    video.load();
    URL.revokeObjectURL(url);
  }
}
