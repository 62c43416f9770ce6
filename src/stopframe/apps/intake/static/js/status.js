// The status step: a case's counts and one row per item, each with a confirmed withdraw.

import { el, showCount } from "./dom.js";
import { language, setText } from "./i18n.js";

const MEDIA = { photo: "media.photo", video: "media.video", other: "media.other" };

/** `iso` as a date in the page's language and digits (shown as is, never sent anywhere). */
function shownDate(iso) {
  const { code, digits, native } = language();
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  return new Intl.DateTimeFormat(`${code}-u-nu-${native ? digits : "latn"}`, { dateStyle: "medium" }).format(when);
}

function withdrawCell(item, position, onWithdraw) {
  const cell = el("td");
  if (item.withdrawn_at) return cell;
  const ask = el("button", {
    text: "status.withdraw",
    args: { n: position },
    attrs: { type: "button", "data-i18n-attr": "aria-label:status.withdraw_n" },
    className: "danger",
  });
  ask.addEventListener("click", () => {
    const yes = el("button", { text: "status.withdraw_yes", attrs: { type: "button" }, className: "danger" });
    const keep = el("button", { text: "status.withdraw_keep", attrs: { type: "button" } });
    const question = el("div", { className: "confirm", attrs: { role: "group" } },
      el("p", { text: "status.withdraw_confirm", args: { n: position } }), yes, keep);
    keep.addEventListener("click", () => {
      cell.replaceChildren(ask);
      ask.focus();
    });
    yes.addEventListener("click", () => {
      yes.disabled = true;
      onWithdraw(item, position);
    });
    cell.replaceChildren(question);
    keep.focus();
  });
  cell.append(ask);
  return cell;
}

function row(item, position, onWithdraw) {
  const state = item.withdrawn_at
    ? el("td", { text: "status.state_withdrawn", args: { date: shownDate(item.withdrawn_at) } })
    : el("td", { text: "status.state_active" });
  return el(
    "tr",
    { className: item.withdrawn_at ? "withdrawn" : "" },
    el("th", { attrs: { scope: "row" }, text: "status.item_n", args: { n: position } }),
    el("td", { text: MEDIA[item.media] || "media.other" }),
    el("td", { literal: shownDate(item.created_at) }),
    el("td", { count: item.matched }),
    el("td", { count: item.acted_on }),
    state,
    withdrawCell(item, position, onWithdraw),
  );
}

/** Show the case `listing` (GET .../items) with a withdraw action calling `onWithdraw(item, n)`. */
export function renderStatus(caseNumber, listing, onWithdraw) {
  setText(document.getElementById("status-case"), "status.case", { number: caseNumber });
  showCount(document.getElementById("sum-active"), listing.items_active);
  showCount(document.getElementById("sum-withdrawn"), listing.items_withdrawn);
  showCount(document.getElementById("sum-matched"), listing.matched);
  showCount(document.getElementById("sum-acted"), listing.acted_on);
  const rows = listing.items.map((item, index) => row(item, index + 1, onWithdraw));
  document.getElementById("status-rows").replaceChildren(...rows);
  document.getElementById("status-empty").hidden = listing.items.length > 0;
  document.getElementById("status-table").hidden = listing.items.length === 0;
}
