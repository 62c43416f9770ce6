// Small DOM helpers: build elements whose text comes from the catalogues (or is marked literal).

import { digits, renderAttributes, setText } from "./i18n.js";

/** A new `tag` element: {text: key, args, attrs, className, literal, count} set as given. */
export function el(tag, { text, args, attrs = {}, className, literal, count } = {}, ...children) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  if (text) setText(element, text, args);
  if (literal !== undefined) {
    element.dataset.literal = "";
    element.textContent = literal;
  }
  if (count !== undefined) {
    element.dataset.count = String(count);
    element.textContent = digits(count);
  }
  if (element.dataset.i18nAttr) renderAttributes(element);
  element.append(...children);
  return element;
}

/** Put the count `value` in `element`, in the chosen digits (kept across switches). */
export function showCount(element, value) {
  element.dataset.count = String(value);
  element.textContent = digits(value);
}
