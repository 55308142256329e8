// /outbox: what waits on this device, and what the server refused (fix or discard).
import { forgetForShift } from "../lib/shift.js";
import { startShiftView } from "../lib/shift-view.js";
import { knownNames } from "../lib/catalog.js";
import { REJECTED, removeRecord, summary } from "../lib/outbox.js";
import { confirmAction, formatTime, show, t } from "../lib/ui.js";
import { clearDevice, initShell, isCleared, onUpdate, requestSync } from "./shell.js";

const pendingList = document.querySelector("[data-pending-list]");
const rejectedList = document.querySelector("[data-rejected-list]");
const rejectedSection = document.querySelector("[data-rejected-section]");
const pendingEmpty = document.querySelector("[data-pending-empty]");
const pendingSection = document.querySelector("[data-pending-section]");
let cleared = false;
// Overdose responses (lib/overdose-form.js) are fixed in their own form on /log/overdose.
const OVERDOSE = "overdose_responses";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// One line per fact; the participant code is never shown.
function describe(entry, names) {
  const { record } = entry;
  if (entry.kind === OVERDOSE) return [t("overdose")];
  const lines = [];
  const supplies = Object.entries(record.supplies || record.items || {}).map(
    ([key, quantity]) => `${names.supplies[key] || key} × ${quantity}`,
  );
  // A stock event (the bag): its kind, then its items.
  if (record.type) lines.push(t(`bag.${record.type}`));
  if (supplies.length) lines.push(supplies.join(", "));
  if (record.referrals?.length) {
    lines.push(t("referrals", { list: record.referrals.map((key) => names.referrals[key] || key).join(", ") }));
  }
  if (record.people_served > 1) lines.push(t("people", { n: record.people_served }));
  if (record.syringes_collected) lines.push(t("collected", { n: record.syringes_collected }));
  const weight = record.syringes_collected_weight;
  if (weight) lines.push(t("collected", { n: `${weight.value} ${weight.unit}` }));
  if (record.naloxone_reversals_reported) lines.push(t("reversals", { n: record.naloxone_reversals_reported }));
  return lines;
}

// A field of the contract in the worker's words ("supplies.cooker" is the cooker's name).
function fieldName(field, names) {
  const [head, key] = field.split(".", 2);
  if (key && ["supplies", "items", "reasons"].includes(head)) return names.supplies[key] || key;
  if (key && head === "referrals") return names.referrals[key] || key;
  const label = t(`field.${head}`);
  return label === `field.${head}` ? t("field.record") : label;
}

function item(entry, names) {
  const { record } = entry;
  const li = element("li", `record record-${entry.status}`);
  li.dataset.recordId = entry.id;
  const when = Date.parse(record.occurred_at) || entry.savedAt;
  const zone = record.zone ? names.zones[record.zone] || record.zone : t("noZone");
  li.append(element("p", "record-title", `${formatTime(when)} · ${zone}`));
  for (const line of describe(entry, names)) li.append(element("p", "record-line", line));
  if (entry.status === REJECTED) {
    li.append(element("p", "record-status", t("rejected")));
    const errors = element("ul", "record-errors");
    errors.dataset.recordErrors = "";
    for (const [field, text] of Object.entries(entry.errors || {})) {
      errors.append(element("li", "", `${fieldName(field, names)}: ${text}`));
    }
    li.append(errors);
    const actions = element("div", "record-actions");
    const fix = element("a", "button primary", t("fix"));
    fix.href = entry.kind === OVERDOSE ? `/log/overdose#overdose=${entry.id}` : `/log#edit=${entry.id}`;
    const discard = element("button", "button danger", t("discard"));
    discard.type = "button";
    discard.dataset.discard = entry.id;
    discard.dataset.kind = entry.kind || "";
    // A stock event is entered again on the bag page rather than fixed.
    actions.append(...(entry.kind && entry.kind !== OVERDOSE ? [] : [fix]), discard);
    li.append(actions);
  } else {
    li.append(element("p", "record-status", t("waiting")));
  }
  return li;
}

// Each worker sees their own records; signed out, none are listed (only counted).
async function render() {
  const [facts, names] = await Promise.all([summary(), knownNames()]);
  const entries = facts.user ? facts.mine : [];
  const rejected = entries.filter((entry) => entry.status === REJECTED);
  const pending = entries.filter((entry) => entry.status !== REJECTED);
  rejectedList.replaceChildren(...rejected.map((entry) => item(entry, names)));
  pendingList.replaceChildren(...pending.map((entry) => item(entry, names)));
  show(rejectedSection, rejected.length > 0);
  show(pendingSection, pending.length > 0);
  // The same facts as the count above: never "nothing waits" while something does.
  show(pendingEmpty, facts.total === 0);
}

rejectedList.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-discard]");
  if (!button) return;
  if (await confirmAction(t("discardConfirm"), t("discard"))) {
    await removeRecord(button.dataset.discard, button.dataset.kind || undefined);
    // Never sent: it leaves the shift view too.
    await forgetForShift(button.dataset.discard).catch(() => null);
    await render();
  }
});
document.querySelector("[data-sync-now]").addEventListener("click", () => requestSync());
document.querySelector("[data-clear-device]").addEventListener("click", async () => {
  if (await clearDevice()) {
    cleared = true;
    rejectedList.replaceChildren();
    pendingList.replaceChildren();
    show(rejectedSection, false);
  }
});
onUpdate(() => {
  if (!cleared) render();
});
initShell();
Promise.all([render(), startShiftView(() => !isCleared())]).then(() => {
  document.documentElement.dataset.ready = "true";
});
