// One step of the page is shown at a time; moving moves the focus to its heading and clears notices.

import { setText } from "./i18n.js";

const listeners = [];
let currentStep = "intro";

/** Call `listener(next, previous)` whenever the step changes. */
export function onStepChange(listener) {
  listeners.push(listener);
}

/** The step now shown. */
export const step = () => currentStep;

/** Show step `name` (section #step-NAME), hide the others and focus its heading. */
export function show(name) {
  const previous = currentStep;
  currentStep = name;
  for (const section of document.querySelectorAll("section.step")) {
    section.hidden = section.id !== `step-${name}`;
  }
  hideNotice();
  for (const listener of listeners) listener(name, previous);
  document.querySelector(`#step-${name} h1`)?.focus();
  window.scrollTo(0, 0);
}

/** Tell the person what went wrong, in words from the catalogue (an alert region). */
export function showNotice(key, args) {
  const box = document.getElementById("notice");
  setText(document.getElementById("notice-text"), key, args);
  box.hidden = false;
}

/** Remove the notice. */
export function hideNotice() {
  document.getElementById("notice").hidden = true;
}
