// /log/bag: a load-out (the last one offered) or an end-of-shift count, saved to the outbox
// as a stock event and sent like encounters. Works offline.
import { adoptServerBag, changeBag, readBag } from "../lib/bag.js";
import { addRecord } from "../lib/outbox.js";
import { currentSession } from "../lib/sync.js";
import { isoWithOffset, show, t } from "../lib/ui.js";
import { noteForShift } from "../lib/shift.js";
import { setUpWhen } from "../lib/when.js";
import { keepPageCurrent } from "../lib/catalog.js";
import { afterSave, initShell, refreshOfflinePages } from "./shell.js";

const form = document.getElementById("bag-form");
const error = document.querySelector("[data-bag-error]");
const toast = document.querySelector("[data-toast]");
const rows = form ? [...form.querySelectorAll("[data-item]")] : [];
const mode = () => form.elements.type.value;
let saving = false;
const when = form ? setUpWhen(form.querySelector("[data-when]")) : null;
// Each figure the worker types is stamped with an edit number. A render reads the bag
// asynchronously; when it refills the form (page load, load-out/count switch) it leaves
// alone every figure typed since it began, so a quick hand never loses what it entered.
let edits = 0;
const touch = (input) => {
  edits += 1;
  input.dataset.edit = String(edits);
};

async function render(refill = true) {
  const began = edits;
  const { bag } = await readBag();
  for (const row of rows) {
    const key = row.dataset.item;
    const have = bag.items[key] || 0;
    row.querySelector("[data-have]").textContent = form.dataset.have.replace("{n}", have);
    const input = row.querySelector("input");
    const typedSince = Number(input.dataset.edit || 0) > began;
    if (refill && !typedSince) input.value = mode() === "load" ? bag.last[key] || "" : "";
    // Counting fewer than expected: a reason from the list (never free text).
    const select = row.querySelector("select");
    select.hidden = !(mode() === "count" && input.value !== "" && Number(input.value) < have);
  }
}

function fail(text) {
  error.textContent = text;
  show(error, true);
  error.focus();
}

async function save(event) {
  event.preventDefault();
  if (saving) return;
  const type = mode();
  const { bag } = await readBag();
  const items = {};
  const reasons = {};
  const expected = {};
  for (const row of rows) {
    const input = row.querySelector("input");
    const key = row.dataset.item;
    const n = Number(input.value);
    if (input.value.trim() === "") continue;
    if (!Number.isInteger(n) || n < 0 || n > 10000) return fail(`${row.querySelector("label").textContent}: 0–10000`);
    if (type === "load" && n === 0) continue;
    items[key] = n;
    if (type !== "count") continue;
    expected[key] = bag.items[key] || 0;
    const reason = row.querySelector("select").value;
    if (n < expected[key] && !reason) return fail(form.dataset.reasonNeeded);
    if (n < expected[key]) reasons[key] = reason;
  }
  if (!Object.keys(items).length) return fail(form.dataset.empty);
  const time = when.read();
  if (time.error) return fail(time.error);
  show(error, false);
  saving = true;
  try {
    const record = { id: crypto.randomUUID(), type, occurred_at: time.at || isoWithOffset(new Date()), items };
    if (type === "count") Object.assign(record, { expected, reasons });
    const entry = await addRecord(record, { kind: "stock_events" });
    const total = Object.values(items).reduce((sum, n) => sum + n, 0);
    await noteForShift({
      id: entry.id,
      user: entry.record.logged_by,
      kind: `bag.${type}`,
      at: Date.parse(record.occurred_at),
      totals: { items: total },
    }).catch(() => null);
    await changeBag(items, 1, type);
    when.clear();
    toast.textContent = type === "load" ? form.dataset.savedLoad : form.dataset.savedCount;
    show(toast, true);
    setTimeout(() => show(toast, false), 3000);
    await render();
  } catch (failure) {
    fail(t("notSaved"));
    return undefined;
  } finally {
    saving = false;
  }
  return afterSave();
}

if (form) {
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-step]");
    if (!button) return;
    const input = document.getElementById(button.getAttribute("aria-controls"));
    input.value = String(Math.min(10000, Math.max(0, (Number(input.value) || 0) + Number(button.dataset.step))));
    touch(input);
    render(false);
  });
  form.addEventListener("input", (event) => {
    if (event.target.type === "number") touch(event.target);
    render(false);
  });
  form.addEventListener("change", (event) => event.target.name === "type" && render());
  form.addEventListener("submit", save);
  render();
  if (navigator.onLine) currentSession().then(adoptServerBag).then(() => render(false), () => null);
}
initShell();
// Which supplies the bag holds is the admin's choice: a kept page made before it is stale.
keepPageCurrent(refreshOfflinePages, document.documentElement.lang || "en").catch(() => null);
document.documentElement.dataset.ready = "true";
