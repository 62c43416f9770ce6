// The victim's page: wires the steps together. Files are hashed here and only their hash values
// and media kinds are sent; the case number and PIN live in this page's memory only.

import { addItems, fetchChallenge, firstBatch, listItems, openCase, withdrawItem } from "./api.js";
import { downloadCredentials, hideCredentials, showCredentials } from "./credentials.js";
import { installQuickExit } from "./exit.js";
import { hashFile, solveChallenge, stopWorker } from "./hash/index.js";
import { language, loadLanguages, setLanguage, setText, useNativeDigits } from "./i18n.js";
import { apiErrorMessage } from "./problems.js";
import { clearPreviews, renderReview } from "./review.js";
import { renderStatus } from "./status.js";
import { onStepChange, show, showNotice, step } from "./steps.js";

const BATCH = 50; // items per request: well under the registry's per-request limit
const BATCH_CHARS = 3_000_000; // JSON per request, under the registry's default 4 MiB body limit

const state = {
  chosen: [], // File objects waiting to be hashed
  items: [], // {file, result, error} after hashing
  caseNumber: null,
  pin: null,
  listing: null,
};

const $ = (id) => document.getElementById(id);

/** Forget everything this page holds: files, hashes, the case number and PIN. */
function forget() {
  clearPreviews();
  state.chosen = [];
  state.items = [];
  state.caseNumber = null;
  state.pin = null;
  state.listing = null;
  $("files").value = "";
  $("follow-form").reset();
  hideCredentials();
}

function reportFailure(error) {
  const [key, args] = apiErrorMessage(error);
  showNotice(key, args);
}

function busy(button, line, key) {
  button.disabled = true;
  setText(line, key);
}

function idle(button, line) {
  button.disabled = false;
  line.textContent = "";
  delete line.dataset.i18n;
}

// Step 2: choose files (button or drop zone); nothing is read until hashing starts.
function choose(files) {
  state.chosen.push(...files);
  setText($("chosen"), "choose.count", { count: state.chosen.length });
  $("hash-start").disabled = state.chosen.length === 0;
}

// Step 3: hash each chosen file in the worker, one after another.
async function hashChosen() {
  const files = state.chosen;
  state.chosen = [];
  show("hash");
  const bar = $("hash-progress");
  for (const [index, file] of files.entries()) {
    setText($("hash-status"), "hash.file", { index: index + 1, count: files.length });
    try {
      const result = await hashFile(file, { onProgress: (part) => (bar.value = (index + part) / files.length) });
      state.items.push({ file, result, error: null });
    } catch (error) {
      state.items.push({ file, result: null, error: error?.code || "failed" });
    }
  }
  bar.value = 1;
  setText($("hash-status"), "hash.done", { count: files.length });
  $("chosen").textContent = "";
  show("review");
}

function removeItem(item) {
  state.items = state.items.filter((other) => other !== item);
  renderReview(state.items, removeItem);
  $("review-title").focus();
}

// Step 5: open an anonymous case with a proof of work; show the number and PIN once.
async function openNewCase() {
  const button = $("open-case");
  const line = $("case-working");
  busy(button, line, "case.working");
  try {
    const { challenge, difficulty } = await fetchChallenge();
    const nonce = await solveChallenge(challenge, difficulty);
    const created = await openCase(challenge, nonce);
    state.caseNumber = created.case_number;
    state.pin = created.pin;
    idle(button, line);
    showCredentials(created.case_number, created.pin);
    $("credentials-title").focus();
  } catch (error) {
    idle(button, line);
    reportFailure(error);
  }
}

// Step 6: send the items (hash values and media kinds only), in batches.
function showSend() {
  const count = state.items.filter((item) => item.result).length;
  setText($("send-summary"), "send.summary", { count, number: state.caseNumber });
  show("send");
}

const payloadOf = ({ result }) => ({ media: result.media, signals: result.signals });

async function sendItems() {
  const button = $("send");
  const line = $("send-working");
  busy(button, line, "send.working");
  try {
    while (state.items.some((item) => item.result)) {
      // a video's variants make items of up to about 3 MB
      const batch = firstBatch(state.items.filter((item) => item.result), payloadOf, BATCH, BATCH_CHARS);
      const payload = batch.map(payloadOf);
      await addItems(state.caseNumber, state.pin, payload);
      state.items = state.items.filter((item) => !batch.includes(item));
    }
    state.items = [];
    clearPreviews();
    idle(button, line);
    await showStatus();
  } catch (error) {
    idle(button, line);
    reportFailure(error);
  }
}

// Step 7: per-item status and withdrawal.
async function showStatus() {
  state.listing = await listItems(state.caseNumber, state.pin);
  renderStatus(state.caseNumber, state.listing, withdraw);
  if (step() !== "status") show("status");
}

async function withdraw(item, position) {
  try {
    await withdrawItem(state.caseNumber, state.pin, item.id);
    await showStatus();
    setText($("status-live"), "status.withdrawn_n", { n: position });
    $("status-live").focus();
  } catch (error) {
    reportFailure(error);
  }
}

async function refresh() {
  try {
    await showStatus();
    setText($("status-live"), "status.refreshed");
  } catch (error) {
    reportFailure(error);
  }
}

async function follow(event) {
  event.preventDefault();
  const number = $("follow-number").value.trim();
  const pin = $("follow-pin").value.trim();
  if (!number || !pin) {
    showNotice("error.follow_missing");
    $(number ? "follow-pin" : "follow-number").focus();
    return;
  }
  const line = $("follow-working");
  const submit = event.submitter || $("follow-form").querySelector('[type="submit"]');
  busy(submit, line, "follow.working");
  try {
    state.listing = await listItems(number, pin);
    state.caseNumber = number;
    state.pin = pin;
    idle(submit, line);
    $("follow-form").reset();
    renderStatus(number, state.listing, withdraw);
    show("status");
  } catch (error) {
    idle(submit, line);
    reportFailure(error);
  }
}

function wireDropZone() {
  const zone = $("drop");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    choose([...event.dataTransfer.files]);
  });
}

function wireSteps() {
  $("start").addEventListener("click", () => show("choose"));
  $("follow-open").addEventListener("click", () => show("follow"));
  $("follow-back").addEventListener("click", () => show("intro"));
  $("follow-form").addEventListener("submit", follow);
  $("choose-back").addEventListener("click", () => show(state.items.length ? "review" : state.caseNumber ? "status" : "intro"));
  $("pick").addEventListener("click", () => $("files").click());
  $("files").addEventListener("change", () => {
    choose([...$("files").files]);
    $("files").value = "";
  });
  wireDropZone();
  $("hash-start").addEventListener("click", hashChosen);
  $("review-more").addEventListener("click", () => show("choose"));
  $("review-next").addEventListener("click", () => (state.caseNumber ? showSend() : show("case")));
  $("open-case").addEventListener("click", openNewCase);
  $("download").addEventListener("click", () => downloadCredentials(state.caseNumber, state.pin));
  $("print").addEventListener("click", () => window.print());
  $("saved").addEventListener("change", () => ($("case-next").disabled = !$("saved").checked));
  $("case-next").addEventListener("click", () => {
    hideCredentials();
    showSend();
  });
  $("send").addEventListener("click", sendItems);
  $("status-refresh").addEventListener("click", refresh);
  $("status-add").addEventListener("click", () => show("choose"));
  $("status-done").addEventListener("click", () => {
    forget();
    show("intro");
  });
  $("notice-close").addEventListener("click", () => ($("notice").hidden = true));
  onStepChange((next, previous) => {
    if (next === "review") renderReview(state.items, removeItem);
    else if (previous === "review") clearPreviews();
    if (next === "choose") $("hash-start").disabled = state.chosen.length === 0;
    if (next !== "status") $("status-live").textContent = "";
  });
}

/** Keep the language (and digits) in the address only, so a reload keeps them without storage. */
function remember() {
  const url = new URL(window.location.href);
  const { code, native } = language();
  url.searchParams.set("lang", code);
  if (native) url.searchParams.set("digits", "native");
  else url.searchParams.delete("digits");
  window.history.replaceState(null, "", url);
}

async function applyLanguage(code, native) {
  const chosen = await setLanguage(code);
  const digitsOption = $("digits-option");
  digitsOption.hidden = !chosen.digits || chosen.digits === "latn";
  $("digits").checked = native && !digitsOption.hidden;
  useNativeDigits($("digits").checked);
  $("language").value = chosen.code;
  if (step() === "status" && state.listing) renderStatus(state.caseNumber, state.listing, withdraw);
  remember();
}

async function start() {
  const params = new URLSearchParams(window.location.search);
  const languages = await loadLanguages();
  const select = $("language");
  for (const lang of languages) {
    const option = document.createElement("option");
    option.value = lang.code;
    option.lang = lang.code;
    option.dir = lang.dir;
    option.dataset.literal = "";
    option.textContent = lang.name;
    select.append(option);
  }
  select.addEventListener("change", () => applyLanguage(select.value, $("digits").checked));
  $("digits").addEventListener("change", () => {
    useNativeDigits($("digits").checked);
    if (step() === "status" && state.listing) renderStatus(state.caseNumber, state.listing, withdraw);
    remember();
  });
  installQuickExit($("quick-exit"), () => {
    stopWorker();
    forget();
  });
  wireSteps();
  await applyLanguage(params.get("lang") || languages[0].code, params.get("digits") === "native");
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  console.error(error);
  showNotice("error.unexpected");
});
