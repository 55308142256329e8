// The shift view, a section of /outbox (its own page once: one kept page fewer offline):
// today's records sent from this phone by the signed-in worker (times and totals), and the
// day's tally. Works offline; reads only what lib/shift.js kept today.
import { listRecords, getState, onChange } from "./outbox.js";
import { shiftOf } from "./shift.js";
import { formatTime, show, t } from "./ui.js";

const list = document.querySelector("[data-shift-list]");
const empty = document.querySelector("[data-shift-empty]");
const waiting = document.querySelector("[data-shift-waiting]");
const TALLY = ["encounters", "syringesOut", "syringesIn", "naloxone", "overdoses"];
const DETAILS = ["syringesOut", "syringesIn", "naloxone", "naloxoneDoses", "items"];

function line(entry) {
  const item = document.createElement("li");
  item.className = "record";
  const title = document.createElement("p");
  title.className = "record-title";
  title.textContent = `${formatTime(entry.at)} · ${t(entry.kind)}`;
  const totals = document.createElement("p");
  totals.textContent = DETAILS.filter((name) => entry.totals[name])
    .map((name) => t(name, { n: entry.totals[name] }))
    .join(" · ");
  item.append(title, totals);
  return item;
}

async function render() {
  const user = await getState("user");
  const entries = user ? await shiftOf(user) : [];
  // Sent: the server has it, so the outbox no longer holds it.
  const inOutbox = new Set((await listRecords()).map((entry) => entry.id));
  const sent = entries.filter((entry) => !inOutbox.has(entry.id));
  const format = new Intl.NumberFormat(document.documentElement.lang || "en");
  for (const name of TALLY) {
    const total = sent.reduce((sum, entry) => sum + (entry.totals[name] || 0), 0);
    document.querySelector(`[data-total="${name}"]`).textContent = format.format(total);
  }
  list.replaceChildren(...sent.map(line));
  show(empty, sent.length === 0);
  const unsent = entries.length - sent.length;
  waiting.textContent = unsent ? t("waitingToday", { n: unsent }) : "";
  show(waiting, unsent > 0);
  document.documentElement.dataset.shiftRendered = String(Date.now());
}

/** Show the shift view and keep it current while ``active()``; resolves once it is first
 * drawn. (Once the device is cleared, reading would open its database again.) */
export function startShiftView(active = () => true) {
  if (!list) return Promise.resolve();
  onChange(() => {
    if (active()) render().catch(() => null);
  });
  return render().catch(() => null);
}
