// Small UI helpers shared by the worker pages: strings from the page, dialogs, toasts.

let cachedStrings = null;

// Translated strings: the ones all worker pages share, from /log/strings.js (a classic
// script that runs before the page's modules), and the page's own, rendered by the server
// into <script type="application/json">.
export function strings() {
  if (!cachedStrings) {
    const block = document.getElementById("worker-strings");
    cachedStrings = { ...(globalThis.outreachWorkerStrings || {}), ...(block ? JSON.parse(block.textContent) : {}) };
  }
  return cachedStrings;
}

// strings().key with {name} placeholders filled in.
export function t(key, values = {}) {
  const text = strings()[key] || key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
}

export function lang() {
  return document.documentElement.lang || "en";
}

export function formatTime(ms) {
  const date = new Date(ms);
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  const options = sameDay
    ? { hour: "numeric", minute: "2-digit" }
    : { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
  return date.toLocaleString(lang(), options);
}

// Ask with a modal dialog; resolves to the value of the chosen button ("" when dismissed).
export function choose(text, buttons) {
  const dialog = document.querySelector("[data-confirm-dialog]");
  if (!dialog || typeof dialog.showModal !== "function") {
    // Without <dialog>: the first button is the action, confirm() asks.
    return Promise.resolve(window.confirm(text) ? buttons[0].value : "");
  }
  dialog.querySelector("[data-confirm-text]").textContent = text;
  const actions = dialog.querySelector("[data-confirm-actions]");
  actions.replaceChildren(
    ...buttons.map(({ label, value, kind }) => {
      const button = document.createElement("button");
      button.type = "submit";
      button.value = value;
      button.className = `button ${kind || ""}`.trim();
      button.textContent = label;
      return button;
    }),
  );
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
    dialog.showModal();
  });
}

export function confirmAction(text, label, kind = "danger") {
  return choose(text, [
    { label, value: "yes", kind },
    { label: t("cancel"), value: "" },
  ]).then((value) => value === "yes");
}

// ``hidden`` alone loses to a stylesheet's display rule (a flex form): the style says it too.
export function show(element, visible) {
  if (!element) return;
  element.hidden = !visible;
  element.style.display = visible ? "" : "none";
}

// A record id: made on the phone when a record is saved (the server's idempotency key).
export { freshId as uuid } from "./ids.js";

// Local time with its UTC offset, e.g. 2026-11-21T22:15:00-05:00.
export function isoWithOffset(date) {
  const pad = (n) => String(Math.abs(n)).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  );
}

// A toast at the foot of the page (``[data-toast]``); ``until``: when it goes.
let toastTimer = null;
export function showToast(text, { undo = false, until = Date.now() + 3000 } = {}) {
  const toast = document.querySelector("[data-toast]");
  if (!toast) return;
  clearTimeout(toastTimer);
  toast.querySelector("[data-toast-text]").textContent = text;
  const undoButton = toast.querySelector("[data-undo]");
  if (undoButton) show(undoButton, undo);
  show(toast, true);
  toastTimer = setTimeout(() => show(toast, false), Math.max(0, until - Date.now()));
}
