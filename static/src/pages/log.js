// /log: the encounter form. A save goes to the outbox at once; sending happens after.
import { changeBag, watchBag } from "../lib/bag.js";
import { keepPageCurrent, namesFromForm, rememberNames } from "../lib/catalog.js";
import { PENDING, SaveRefused, addRecord, getRecord, getState, removeRecord, replaceRecord, setState } from "../lib/outbox.js";
import { codeConcern } from "../lib/code-check.js";
import { setUpReferralServices } from "../lib/referral-services.js";
import { isoWithOffset, lang, show, showToast, t, uuid } from "../lib/ui.js";
import { encounterTotals, forgetForShift, noteForShift } from "../lib/shift.js";
import { setUpWhen } from "../lib/when.js";
import { afterSave, initShell, refreshOfflinePages } from "./shell.js";

const UNDO_MS = 6000;
// The overdose form was once at the foot of this page (/log#overdose, /log#overdose=<id>):
// such links open its own page now.
function toOverdosePage() {
  if (window.location.hash.startsWith("#overdose")) window.location.replace(`/log/overdose${window.location.hash}`);
}
toOverdosePage();
window.addEventListener("hashchange", toOverdosePage);
const form = document.getElementById("encounter-form");
const undoButton = document.querySelector("[data-undo]");
const formError = document.querySelector("[data-form-error]");
const common = document.querySelector("[data-common-supplies]");
const more = document.querySelector("[data-more-supplies]");
const codeWarning = document.getElementById("participant_code-warning");
const when = setUpWhen(form.querySelector("[data-when]"), { onChange: () => markTime("") });
// Supplies shown first (as many as the page shows): the ones this phone gave most lately.
const HISTORY = 30;
const LEARN_AFTER = 3;
let lastSaved = null;
let editing = null;
let saving = false;
// The sealed code of the record being fixed or taken back: kept unless the worker types one.
let keptSeal = null;

function numberInputs() {
  return [...form.querySelectorAll('input[type="number"]')];
}

// Empty means "none" for supplies; a number out of its bounds is marked and refused.
function readNumber(input) {
  const raw = input.value.trim();
  const min = Number(input.min || 0);
  const max = Number(input.max || Infinity);
  if (raw === "") return { value: null, ok: true };
  const value = Number(raw);
  const ok = Number.isInteger(value) && value >= min && value <= max;
  return { value, ok };
}

function labelOf(input) {
  return form.querySelector(`label[for="${input.id}"]`)?.textContent.trim() || input.name;
}

function markField(input, message) {
  const error = document.getElementById(`${input.id}-error`);
  const describedBy = `${input.id}-range`;
  input.setAttribute("aria-invalid", message ? "true" : "false");
  input.setAttribute("aria-describedby", message ? `${input.id}-error ${describedBy}` : describedBy);
  input.closest(".supply")?.classList.toggle("has-error", Boolean(message));
  if (!message) {
    error?.remove();
    return;
  }
  const line = error || document.createElement("p");
  line.id = `${input.id}-error`;
  line.className = "field-error";
  line.textContent = message;
  if (!error) input.closest(".stepper-row").after(line);
}

// The "When" field's problem (a time out of the contract's bounds), beside it.
function markTime(message) {
  const input = when.input;
  const id = `${input.id}-error`;
  let line = document.getElementById(id);
  input.setAttribute("aria-invalid", message ? "true" : "false");
  const hint = `${input.id}-hint`;
  input.setAttribute("aria-describedby", message ? `${id} ${hint}` : hint);
  if (!message) {
    line?.remove();
    return;
  }
  if (!line) {
    line = document.createElement("p");
    line.id = id;
    line.className = "field-error";
    input.after(line);
  }
  line.textContent = message;
}

// Every number out of its bounds, each with the words that say what it accepts.
function numberProblems() {
  const problems = [];
  const format = new Intl.NumberFormat(lang());
  for (const input of numberInputs()) {
    if (readNumber(input).ok) {
      markField(input, "");
      continue;
    }
    const message = formError.dataset.number
      .replace("{min}", format.format(Number(input.min || 0)))
      .replace("{max}", format.format(Number(input.max)));
    markField(input, message);
    problems.push({ input, message: `${labelOf(input)}: ${message}` });
  }
  return problems;
}

// Syringes collected by weight: a number 0.01-500 (a comma as decimal point too), kg or lb.
function readWeight(problems) {
  const input = form.elements.syringes_collected_weight;
  const raw = input.value.trim().replace(",", ".");
  const value = Number(raw);
  const ok = !raw || (/^\d*\.?\d+$/.test(raw) && value >= 0.01 && value <= 500);
  markField(input, ok ? "" : formError.dataset.weight);
  if (!ok) problems.push({ input, message: `${labelOf(input)}: ${formError.dataset.weight}` });
  return ok && raw ? { value, unit: form.elements.syringes_collected_weight_unit.value } : null;
}

function buildRecord() {
  const problems = numberProblems();
  const weight = readWeight(problems);
  // The code is checked before Save as the server will check it: a code it would refuse
  // is never saved (the participant may be gone by the next sync).
  const refusal = warnAboutCode();
  if (refusal) problems.push({ input: form.elements.participant_code, message: refusal });
  const time = when.read();
  markTime(time.error || "");
  if (time.error) problems.push({ input: when.input, message: time.error });
  if (problems.length) return { problems };
  const supplies = {};
  for (const input of form.querySelectorAll('input[name^="supply."]')) {
    const { value } = readNumber(input);
    if (value) supplies[input.name.slice("supply.".length)] = value;
  }
  const referrals = [...form.querySelectorAll('input[name="referral"]:checked')].map((input) => input.value);
  const value = (name, fallback) => readNumber(form.elements[name]).value ?? fallback;
  const record = {
    id: uuid(),
    occurred_at: time.at || isoWithOffset(new Date()),
    zone: form.elements.zone.value || null,
    participant_code: form.elements.participant_code.value.trim() || null,
    people_served: value("people_served", 1),
    supplies,
    syringes_collected: value("syringes_collected", 0),
    naloxone_reversals_reported: value("naloxone_reversals_reported", 0),
    referrals,
  };
  if (!record.participant_code && keptSeal) record.participant_code_sealed = keptSeal;
  if (weight) record.syringes_collected_weight = weight;
  const empty =
    !Object.keys(supplies).length &&
    !referrals.length &&
    !record.syringes_collected &&
    !weight &&
    !record.naloxone_reversals_reported;
  if (empty) return { problems: [{ input: form.querySelector('input[name^="supply."]'), message: t("empty") }] };
  return { record };
}

// Nothing is saved: a summary at the top (announced), and the first problem in focus.
function showProblems(problems) {
  const title = document.createElement("p");
  title.textContent =
    problems.length === 1 ? formError.dataset.one : formError.dataset.many.replace("{n}", String(problems.length));
  const list = document.createElement("ul");
  for (const { message } of problems) {
    const item = document.createElement("li");
    item.textContent = message;
    list.append(item);
  }
  formError.replaceChildren(title, list);
  show(formError, true);
  focusField(problems[0].input);
}

function focusField(input) {
  if (more.contains(input)) more.open = true;
  input.focus({ preventScroll: true });
  input.closest(".supply, .field, .when-field")?.scrollIntoView({ block: "center" });
}

function clearProblems() {
  show(formError, false);
  formError.replaceChildren();
  for (const input of [...numberInputs(), form.elements.syringes_collected_weight]) markField(input, "");
}

// Put a record's values back in the form (after "undo", or to fix a rejected one).
function fill(record) {
  resetForm();
  form.elements.zone.value = record.zone || "";
  when.set(record.occurred_at);
  for (const [key, quantity] of Object.entries(record.supplies || {})) {
    const input = form.elements[`supply.${key}`];
    if (input) input.value = String(quantity);
  }
  for (const input of form.querySelectorAll('input[name="referral"]')) {
    input.checked = (record.referrals || []).includes(input.value);
  }
  form.elements.people_served.value = String(record.people_served ?? 1);
  form.elements.syringes_collected.value = record.syringes_collected ? String(record.syringes_collected) : "";
  form.elements.naloxone_reversals_reported.value = record.naloxone_reversals_reported
    ? String(record.naloxone_reversals_reported)
    : "";
  form.elements.syringes_collected_weight.value = record.syringes_collected_weight?.value ?? "";
  if (record.syringes_collected_weight) form.elements.syringes_collected_weight_unit.value = record.syringes_collected_weight.unit;
  // Sealed at save: the code cannot be shown again, only kept or typed anew.
  form.elements.participant_code.value = "";
  keptSeal = record.participant_code_sealed || null;
  form.elements.participant_code.placeholder = keptSeal ? t("codeKept") : "";
  warnAboutCode();
  if ([...more.querySelectorAll("input")].some((input) => input.value)) more.open = true;
  form.dispatchEvent(new Event("outreach:filled"));
}

function resetForm() {
  const zone = form.elements.zone.value;
  const unit = form.elements.syringes_collected_weight_unit.value;
  form.reset();
  form.elements.zone.value = zone;
  form.elements.syringes_collected_weight_unit.value = unit;
  for (const input of numberInputs()) input.value = input.dataset.default || "";
  when.clear();
  markTime("");
  clearProblems();
  warnAboutCode();
  more.open = false;
}

function showFormError(text) {
  formError.textContent = text;
  show(formError, true);
  formError.focus();
}

async function save(event) {
  event.preventDefault();
  // A second tap while the first save is still writing would store the encounter twice.
  if (saving) return;
  const { record, problems } = buildRecord();
  if (problems) {
    showProblems(problems);
    return;
  }
  clearProblems();
  saving = true;
  try {
    if (editing) {
      record.id = editing.id;
      // Discarded meanwhile (another tab): the worker just saved it again, so it is kept.
      const kept = (await replaceRecord(record)) || (await addRecord(record));
      await noteShift(kept);
      editing = null;
      // The outbox page sends it as it opens; waiting for a send here could take minutes.
      window.location.assign("/outbox");
      return;
    }
    const entry = await addRecord(record, { holdMs: UNDO_MS });
    lastSaved = entry.record;
    await noteShift(entry);
    learnFrom(record);
    // The bag on this phone: what was handed out leaves it.
    await changeBag(record.supplies, -1).catch(() => null);
    resetForm();
    checkBag();
    keptSeal = null;
    form.elements.participant_code.placeholder = "";
    // Undo goes a moment before the hold ends, so it is never offered for a record sent.
    showToast(t("saved"), { undo: true, until: entry.holdUntil - 500 });
    window.scrollTo({ top: 0 });
  } catch (failure) {
    // Signed out, or no seal key yet, or IndexedDB refused (storage full or cleared): the
    // form keeps what was typed.
    const reason = failure instanceof SaveRefused ? failure.reason : "";
    showFormError(t(reason === "signed-out" ? "signedOutSave" : reason === "no-key" ? "noSealKey" : "notSaved"));
    return;
  } finally {
    saving = false;
  }
  await afterSave();
}

// The shift view's line for a saved encounter: its time and totals, never its code.
function noteShift(entry) {
  const tallyOf = (key) => form.querySelector(`[data-supply="${key}"]`)?.dataset.tally || "";
  return noteForShift({
    id: entry.id,
    user: entry.record.logged_by,
    kind: "encounters",
    at: Date.parse(entry.record.occurred_at),
    totals: encounterTotals(entry.record, tallyOf),
  }).catch(() => null);
}

async function undo() {
  if (!lastSaved) return;
  const record = lastSaved;
  lastSaved = null;
  const entry = await getRecord(record.id);
  if (!entry || entry.status !== PENDING || entry.holdUntil <= Date.now()) {
    // Already on its way: taking it back now would log the encounter twice.
    showToast(t("missingRecord"));
    return;
  }
  await removeRecord(record.id);
  await forgetForShift(record.id).catch(() => null);
  await changeBag(record.supplies, 1).catch(() => null);
  fill(record);
  showToast(t("undone"));
  await afterSave();
}

function clamp(input, value) {
  const min = Number(input.min || 0);
  const max = Number(input.max || Infinity);
  return Math.min(max, Math.max(min, value));
}

// Steppers and quick amounts sit on top of the plain number inputs. A quick amount adds to
// what is there (tapping 50 then 20 gives 70, shown in the field), within the input's bounds.
function onControl(event) {
  const button = event.target.closest("button[data-step], button[data-add]");
  if (!button) return;
  const input = document.getElementById(button.getAttribute("aria-controls"));
  if (!input) return;
  const current = Number(input.value || 0) || 0;
  const next = clamp(input, current + Number(button.dataset.add || button.dataset.step));
  // Zero means "none" for supplies: leave the field empty so it is not sent.
  input.value = next === 0 && Number(input.min || 0) === 0 ? "" : String(next);
  input.dispatchEvent(new Event("input", { bubbles: true }));
  markField(input, "");
}

// What the server refuses in a code, in its own words (the messages come from the page).
// The identifying-data rules are lib/code-check.js, the same rules as the server's
// (outreach/privacy.py; both checked against one table of cases); the length and the "no
// letter or digit" bounds come from the page.
const codeRules = JSON.parse(codeWarning.dataset.rules || "{}");
export function codeRefusal(text, rules = codeRules) {
  const code = text.trim();
  const messages = rules.messages || {};
  if (!code) return "";
  if (code.length > rules.max_length) return messages.too_long || "";
  if (!/[\p{L}\p{N}]/u.test(code.normalize("NFKC"))) return messages.no_letter_or_digit || "";
  const concern = codeConcern(code);
  return concern ? messages[concern] || "" : "";
}

// Beside the field, before Save: the server's refusal, in its words.
function warnAboutCode() {
  const refusal = codeRefusal(form.elements.participant_code.value);
  if (codeWarning.textContent !== refusal) codeWarning.textContent = refusal;
  return refusal;
}

// The supplies this phone gave most lately take the places above "More supplies"; the
// ones they replace go back to the top of their category, where they came from.
async function arrangeSupplies() {
  const history = (await getState("supplyUse").catch(() => null)) || [];
  if (history.length < LEARN_AFTER) return;
  const rows = [...form.querySelectorAll("[data-supply]")];
  const groups = [...more.querySelectorAll("[data-supply-group]")];
  const shown = [...common.children];
  const counts = new Map();
  for (const keys of history) for (const key of keys) counts.set(key, (counts.get(key) || 0) + 1);
  const first = [...rows]
    .sort((a, b) => (counts.get(b.dataset.supply) || 0) - (counts.get(a.dataset.supply) || 0))
    .slice(0, shown.length);
  shown.forEach((row, index) => first.includes(row) || groups[index].firstElementChild.after(row));
  common.append(...first);
  for (const group of groups) group.hidden = !group.querySelector("[data-supply]");
}

function learnFrom(record) {
  const keys = Object.keys(record.supplies);
  if (!keys.length) return;
  getState("supplyUse")
    .then((history) => setState("supplyUse", [keys, ...(history || [])].slice(0, HISTORY)))
    .catch(() => null);
}

async function startEditing() {
  const match = /^#edit=([0-9a-f-]{36})$/i.exec(window.location.hash);
  if (!match) return;
  const entry = await getRecord(match[1]);
  if (!entry) {
    showToast(t("missingRecord"));
    return;
  }
  editing = entry;
  fill(entry.record);
  show(document.querySelector("[data-edit-notice]"), true);
  // The code was the problem: it has to be typed again (the phone cannot read the old one).
  const codeError = Object.entries(entry.errors || {}).find(([field]) => field.startsWith("participant_code"));
  if (codeError) {
    keptSeal = null;
    form.elements.participant_code.placeholder = "";
    // The server's own reason (a phone number, an email address...), not a guess.
    const reason = codeError[1];
    showFormError(reason ? t("codeRefused", { reason }) : t("retypeCode"));
    codeWarning.textContent = reason || "";
  }
}

async function rememberZone() {
  const before = form.elements.zone.value;
  const zone = await getState("zone");
  // A zone the worker picked while the phone was still reading is theirs to keep.
  const untouched = form.elements.zone.value === before;
  if (zone !== undefined && untouched && !editing && [...form.elements.zone.options].some((o) => o.value === zone)) {
    form.elements.zone.value = zone;
  }
  form.elements.zone.addEventListener("change", () => setState("zone", form.elements.zone.value));
}

function checkCatalog() {
  return keepPageCurrent(refreshOfflinePages, lang()).catch(() => null);
}

// Each number's range, beside it and read with it. Built here rather than in the page,
// which every phone keeps offline: the bounds are already on the inputs.
function showRanges() {
  const format = new Intl.NumberFormat(lang());
  for (const input of numberInputs()) {
    const range = document.createElement("span");
    range.className = "range";
    range.id = `${input.id}-range`;
    range.textContent = `${format.format(Number(input.min))}–${format.format(Number(input.max))}`;
    input.setAttribute("aria-describedby", range.id);
    input.closest(".stepper-row").before(range);
  }
}

showRanges();
const checkBag = watchBag(form, { low: t("bagLow"), short: t("bagShort") });
form.addEventListener("click", onControl);
form.elements.participant_code.addEventListener("input", warnAboutCode);
form.addEventListener("change", (event) => {
  if (event.target.type === "number" && readNumber(event.target).ok) markField(event.target, "");
});
form.addEventListener("submit", save);
setUpReferralServices(form);
undoButton.addEventListener("click", undo);
document.querySelector("[data-catalog-reload]")?.addEventListener("click", () => window.location.reload());
initShell();
rememberNames(namesFromForm(form));
arrangeSupplies()
  .catch(() => null)
  .then(startEditing)
  .then(rememberZone);
checkCatalog();
document.documentElement.dataset.ready = "true";
