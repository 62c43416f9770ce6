// Languages: the catalogues under i18n/, t() with {placeholders}, direction and digits.
// Every visible string comes from a catalogue through data-i18n (text), data-i18n-args (JSON
// placeholders) and data-i18n-attr ("attribute:key;..."), so switching language re-renders all.

const BASE = new URL("../i18n/", import.meta.url);
const LATIN = "0123456789";
const DIGIT_SETS = {
  latn: LATIN,
  arabext: "۰۱۲۳۴۵۶۷۸۹",
};

const current = { code: "en", dir: "ltr", digits: "latn", native: false, messages: {}, fallback: {} };
let languages = [];

async function loadJson(name) {
  const response = await fetch(new URL(name, BASE), { credentials: "omit" });
  if (!response.ok) throw new Error(`catalogue ${name}: HTTP ${response.status}`);
  return response.json();
}

/** The languages the page offers, from i18n/languages.json (loaded once). */
export async function loadLanguages() {
  if (!languages.length) languages = await loadJson("languages.json");
  return languages;
}

/** Switch to language `code` (falls back to the first listed) and re-render the document. */
export async function setLanguage(code) {
  const list = await loadLanguages();
  const chosen = list.find((lang) => lang.code === code) || list[0];
  if (!Object.keys(current.fallback).length) current.fallback = await loadJson(`${list[0].code}.json`);
  current.messages = chosen.code === list[0].code ? current.fallback : await loadJson(`${chosen.code}.json`);
  current.code = chosen.code;
  current.dir = chosen.dir;
  current.digits = chosen.digits || "latn";
  current.native = false;
  document.documentElement.lang = chosen.code;
  document.documentElement.dir = chosen.dir;
  translate(document);
  return chosen;
}

/** The language now shown. */
export function language() {
  return { code: current.code, dir: current.dir, digits: current.digits, native: current.native };
}

/** Show counts in the language's own digits (true) or in 0-9 (false). */
export function useNativeDigits(on) {
  current.native = Boolean(on) && current.digits !== "latn";
  translate(document);
}

/** `value` (a number or text) with its digits in the chosen digit set. */
export function digits(value) {
  const text = String(value);
  const set = current.native ? DIGIT_SETS[current.digits] : null;
  return set ? text.replace(/[0-9]/g, (d) => set[Number(d)]) : text;
}

/** The message `key` with {name} placeholders filled in (numbers in the chosen digits). */
export function t(key, args = {}) {
  const template = current.messages[key] ?? current.fallback[key];
  if (template === undefined) {
    console.error(`missing message: ${key}`);
    return key;
  }
  return template.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in args)) return whole;
    const value = args[name];
    return typeof value === "number" ? digits(value) : String(value);
  });
}

/** Mark `element` to show message `key` (kept across language switches) and render it now. */
export function setText(element, key, args) {
  element.dataset.i18n = key;
  if (args) element.dataset.i18nArgs = JSON.stringify(args);
  else delete element.dataset.i18nArgs;
  element.textContent = t(key, args);
  return element;
}

/** Fill the attributes that `element`'s data-i18n-attr ("attribute:key;...") names. */
export function renderAttributes(element) {
  const args = element.dataset.i18nArgs ? JSON.parse(element.dataset.i18nArgs) : undefined;
  for (const pair of element.dataset.i18nAttr.split(";")) {
    const [attribute, key] = pair.split(":");
    element.setAttribute(attribute, t(key, args));
  }
}

/** Render every marked element under `root` in the current language. */
export function translate(root) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    const args = element.dataset.i18nArgs ? JSON.parse(element.dataset.i18nArgs) : undefined;
    element.textContent = t(element.dataset.i18n, args);
  }
  for (const element of root.querySelectorAll("[data-i18n-attr]")) renderAttributes(element);
  for (const element of root.querySelectorAll("[data-count]")) {
    element.textContent = digits(element.dataset.count);
  }
  if (root === document) document.title = t("page.title");
}
