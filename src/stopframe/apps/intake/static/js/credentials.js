// The case number and PIN, shown once: a text file made here (never sent) and printing.

import { t } from "./i18n.js";

/** Offer the case number and PIN as a text file made on this device. */
export function downloadCredentials(caseNumber, pin) {
  const text = t("case.file_text", { number: caseNumber, pin, address: window.location.origin });
  const url = URL.createObjectURL(new Blob([text.replace(/\n/g, "\r\n")], { type: "text/plain;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = t("case.file_name", { number: caseNumber });
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Show the case number and PIN in the page (dd elements, marked as literal values). */
export function showCredentials(caseNumber, pin) {
  document.getElementById("case-number").textContent = caseNumber;
  document.getElementById("case-pin").textContent = pin;
  document.getElementById("case-credentials").hidden = false;
  document.getElementById("case-open-box").hidden = true;
  document.getElementById("saved").checked = false;
  document.getElementById("case-next").disabled = true;
}

/** Take the case number and PIN off the page. */
export function hideCredentials() {
  document.getElementById("case-number").textContent = "";
  document.getElementById("case-pin").textContent = "";
  document.getElementById("case-credentials").hidden = true;
  document.getElementById("case-open-box").hidden = false;
}
