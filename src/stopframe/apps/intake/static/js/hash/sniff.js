// What a file holds, from its first bytes (as src/stopframe/media/sniff.py decides), and an
// image's stored size from its header, so oversized pictures are refused before decoding.

const text = (bytes, at, length) => String.fromCharCode(...bytes.subarray(at, at + length));
const u16be = (b, at) => (b[at] << 8) | b[at + 1];
const u16le = (b, at) => b[at] | (b[at + 1] << 8);
const u24le = (b, at) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
const u32be = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
const i32le = (b, at) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24);

const HEIC = ["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs"];
const AVIF = ["avif", "avis"];
const QUICKTIME_ATOMS = ["moov", "mdat", "wide", "free", "skip", "pnot"];

function ftyp(head) {
  if (head.length < 12 || text(head, 4, 4) !== "ftyp") return null;
  const size = u32be(head, 0);
  const end = Math.min(head.length, size >= 16 ? size : 16);
  const major = text(head, 8, 4);
  const brands = [major];
  for (let i = 16; i + 4 <= end; i += 4) brands.push(text(head, i, 4));
  const generic = major === "mif1" || major === "msf1";
  if (AVIF.includes(major) || (generic && brands.some((b) => AVIF.includes(b)))) {
    return { kind: "image", format: "avif" };
  }
  if (HEIC.includes(major) || generic) return { kind: "image", format: "heic" };
  return { kind: "video", format: major === "qt  " ? "mov" : "mp4" };
}

/** {kind: "image"|"video", format} from a file's first bytes, or null for anything else. */
export function sniff(head) {
  const starts = (...bytes) => bytes.every((value, i) => head[i] === value);
  if (starts(0xff, 0xd8, 0xff)) return { kind: "image", format: "jpeg" };
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return { kind: "image", format: "png" };
  const six = text(head, 0, 6);
  if (six === "GIF87a" || six === "GIF89a") return { kind: "image", format: "gif" };
  if (text(head, 0, 4) === "RIFF" && text(head, 8, 4) === "WEBP") return { kind: "image", format: "webp" };
  if (text(head, 0, 4) === "RIFF" && text(head, 8, 4) === "AVI ") return { kind: "video", format: "avi" };
  if (text(head, 0, 2) === "BM" && head.length >= 26) return { kind: "image", format: "bmp" };
  if (["II*\0", "MM\0*", "II+\0", "MM\0+"].includes(text(head, 0, 4))) return { kind: "image", format: "tiff" };
  const iso = ftyp(head);
  if (iso) return iso;
  if (QUICKTIME_ATOMS.includes(text(head, 4, 4))) return { kind: "video", format: "mov" };
  if (starts(0x1a, 0x45, 0xdf, 0xa3)) {
    return { kind: "video", format: text(head, 0, 64).includes("webm") ? "webm" : "matroska" };
  }
  if (text(head, 0, 4) === "OggS") return { kind: "video", format: "ogg" };
  if (text(head, 0, 3) === "FLV") return { kind: "video", format: "flv" };
  if (starts(0, 0, 1, 0xba)) return { kind: "video", format: "mpeg-ps" };
  if (starts(0, 0, 1, 0xb3)) return { kind: "video", format: "mpeg-video" };
  if (starts(0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11)) return { kind: "video", format: "asf" };
  if (head.length >= 377 && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47) {
    return { kind: "video", format: "mpeg-ts" };
  }
  if (head.length >= 389 && head[4] === 0x47 && head[196] === 0x47 && head[388] === 0x47) {
    return { kind: "video", format: "mpeg-ts" };
  }
  return null;
}

function jpegSize(b) {
  let at = 2;
  while (at + 9 < b.length) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isFrame) return { width: u16be(b, at + 7), height: u16be(b, at + 5) };
    at += 2 + u16be(b, at + 2);
  }
  return null;
}

function webpSize(b) {
  const chunk = text(b, 12, 4);
  if (chunk === "VP8 " && b.length >= 30) {
    return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  }
  if (chunk === "VP8L" && b.length >= 25) {
    const bits = (b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24)) >>> 0;
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X" && b.length >= 30) return { width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  return null;
}

/** {width, height} as an image's header states it, or null when it cannot be read from `head`. */
export function imageSize(head, format) {
  switch (format) {
    case "jpeg":
      return jpegSize(head);
    case "png":
      return head.length >= 24 ? { width: u32be(head, 16), height: u32be(head, 20) } : null;
    case "gif":
      return head.length >= 10 ? { width: u16le(head, 6), height: u16le(head, 8) } : null;
    case "webp":
      return webpSize(head);
    case "bmp":
      if (i32le(head, 14) === 12) return { width: u16le(head, 18), height: u16le(head, 20) };
      return head.length >= 26 ? { width: Math.abs(i32le(head, 18)), height: Math.abs(i32le(head, 22)) } : null;
    default:
      return null;
  }
}

/** Whether an image file's last bytes end it properly (browsers show truncated files half drawn). */
export function endsWhole(tail, format) {
  const find = (...bytes) => {
    for (let i = tail.length - bytes.length; i >= 0; i--) {
      if (bytes.every((value, k) => tail[i + k] === value)) return true;
    }
    return false;
  };
  if (format === "jpeg") return find(0xff, 0xd9);
  if (format === "png") return find(0x49, 0x45, 0x4e, 0x44); // IEND
  return true;
}
