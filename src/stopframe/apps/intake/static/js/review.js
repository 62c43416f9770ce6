// The review step: local previews of each chosen file (object URLs, revoked when leaving) and
// a button to remove any file before anything is sent.

import { el } from "./dom.js";
import { hashErrorKey } from "./problems.js";

const MEDIA_LABELS = { photo: "media.photo_n", video: "media.video_n", other: "media.other_n" };
const previews = new Set();

/** Revoke every preview URL made for the review. */
export function clearPreviews() {
  for (const url of previews) URL.revokeObjectURL(url);
  previews.clear();
}

function preview(item) {
  const media = item.result?.media;
  if (media !== "photo" && media !== "video") {
    return el("div", { className: "preview", attrs: { "aria-hidden": "true" } });
  }
  const url = URL.createObjectURL(item.file);
  previews.add(url);
  if (media === "photo") {
    return el("img", { className: "preview", attrs: { src: url, alt: "", "data-i18n-attr": "alt:review.preview_alt" } });
  }
  return el("video", { className: "preview", attrs: { src: url, preload: "metadata", muted: "", controls: "" } });
}

function describe(item) {
  if (item.error) return el("p", { className: "problem", text: hashErrorKey(item.error) });
  const warnings = item.result.warnings?.length ? el("p", { text: "review.warning" }) : "";
  return el("div", {}, el("p", { text: "review.ready" }), warnings);
}

/** Show `items` in #review-list; `onRemove(item)` is called when one is removed. */
export function renderReview(items, onRemove) {
  clearPreviews();
  const list = document.getElementById("review-list");
  list.replaceChildren();
  items.forEach((item, index) => {
    const position = index + 1;
    const media = item.result?.media || "other";
    const label = item.error ? "review.failed_n" : MEDIA_LABELS[media];
    const remove = el("button", {
      text: "review.remove",
      args: { n: position },
      attrs: { type: "button", "data-i18n-attr": "aria-label:review.remove_n" },
      className: "danger",
    });
    remove.addEventListener("click", () => onRemove(item));
    const about = el(
      "div",
      { className: "about" },
      el("p", { text: label, args: { n: position } }),
      el("p", { className: "name", literal: item.file.name, attrs: { dir: "auto" } }),
      describe(item),
    );
    list.append(el("li", { className: item.error ? "item failed" : "item" }, preview(item), about, remove));
  });
  document.getElementById("review-empty").hidden = items.length > 0;
  document.getElementById("review-next").disabled = !items.some((item) => item.result);
}
