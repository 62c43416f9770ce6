// The frame rate and frame count of an MP4/MOV video track, read from its sample table the way
// FFmpeg derives the average rate (frames x timescale / summed sample durations), so frames are
// numbered and sampled as the Python vPDQ numbers them. Only box headers and the moov box are read.

const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl"]);
const MAX_MOOV = 64 * 1024 * 1024;

async function read(blob, start, length) {
  return new DataView(await blob.slice(start, start + length).arrayBuffer());
}

const name = (view, at) => String.fromCharCode(...new Uint8Array(view.buffer, view.byteOffset + at, 4));

function* boxes(view, start, end) {
  let at = start;
  while (at + 8 <= end) {
    let size = view.getUint32(at);
    let header = 8;
    if (size === 1) {
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) return;
    yield { type: name(view, at + 4), body: at + header, end: at + size };
    at += size;
  }
}

function videoTrack(view, start, end) {
  let handler = null;
  let timescale = 0;
  let frames = 0;
  let ticks = 0;
  const walk = (from, to) => {
    for (const box of boxes(view, from, to)) {
      if (box.type === "trak") {
        const found = videoTrack(view, box.body, box.end);
        if (found) return found;
      } else if (CONTAINERS.has(box.type)) walk(box.body, box.end);
      else if (box.type === "hdlr") handler = name(view, box.body + 8);
      else if (box.type === "mdhd") timescale = view.getUint32(box.body + (view.getUint8(box.body) === 1 ? 20 : 12));
      else if (box.type === "stts") {
        const entries = view.getUint32(box.body + 4);
        for (let i = 0, at = box.body + 8; i < entries && at + 8 <= box.end; i++, at += 8) {
          frames += view.getUint32(at);
          ticks += view.getUint32(at) * view.getUint32(at + 4);
        }
      }
    }
    return null;
  };
  const nested = walk(start, end);
  if (nested) return nested;
  return handler === "vide" && timescale > 0 && frames > 0 && ticks > 0
    ? { fps: (frames * timescale) / ticks, frames }
    : null;
}

/** {fps, frames} of the first video track of an MP4/MOV file, or null when it cannot be read. */
export async function mp4Timing(blob) {
  let at = 0;
  while (at + 16 <= blob.size) {
    const head = await read(blob, at, 16);
    let size = head.getUint32(0);
    const header = size === 1 ? 16 : 8;
    if (size === 1) size = Number(head.getBigUint64(8));
    else if (size === 0) size = blob.size - at;
    if (size < header) return null;
    if (name(head, 4) === "moov") {
      if (size > MAX_MOOV) return null;
      const moov = await read(blob, at + header, size - header);
      try {
        return videoTrack(moov, 0, moov.byteLength);
      } catch {
        return null;
      }
    }
    at += size;
  }
  return null;
}
