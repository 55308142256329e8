// The shift view's memory (/log/shift): what this worker saved on this phone today, as times
// and totals only, never a participant code, zone or referral. It lives in the outbox
// database's "state" store under one key, tagged with the day: the first read or write on a
// later day drops it. Each entry names its worker, so on a shared phone each sees their own.
import { getState, setState } from "./outbox.js";

const KEY = "shift";

// Today in this phone's time zone, as YYYY-MM-DD.
export function localDay(date = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

async function read() {
  const kept = await getState(KEY).catch(() => null);
  if (!kept || kept.day !== localDay()) return { day: localDay(), entries: [] };
  return kept;
}

async function write(shift) {
  await setState(KEY, shift);
}

// ``entry``: { id, user, kind, at (ms of when it happened), totals: { name: number } }.
// A record saved again (fixed after a refusal) replaces its line.
export async function noteForShift(entry) {
  const shift = await read();
  shift.entries = [...shift.entries.filter((kept) => kept.id !== entry.id), { ...entry, savedAt: Date.now() }];
  await write(shift);
}

export async function forgetForShift(id) {
  const shift = await read();
  const entries = shift.entries.filter((kept) => kept.id !== id);
  if (entries.length !== shift.entries.length) await write({ ...shift, entries });
}

// Today's entries of ``user``, oldest first; and an old day's are dropped from the phone.
export async function shiftOf(user) {
  const shift = await read();
  const kept = await getState(KEY).catch(() => null);
  if (kept && kept.day !== shift.day) await write(shift);
  return shift.entries.filter((entry) => entry.user === user).sort((a, b) => a.at - b.at);
}

// The totals an encounter adds to the tally: syringes out (the supplies the page marks as
// syringes), syringes in, naloxone (supplies marked as naloxone) and people served.
export function encounterTotals(record, tallyOf) {
  const totals = { encounters: 1, syringesOut: 0, syringesIn: record.syringes_collected || 0, naloxone: 0 };
  for (const [key, quantity] of Object.entries(record.supplies || {})) {
    const kind = tallyOf(key);
    if (kind === "syringes") totals.syringesOut += quantity;
    if (kind === "naloxone") totals.naloxone += quantity;
  }
  return totals;
}
