// The worker's bag as this phone knows it, offline: IndexedDB "state" under "bag:<user>",
// { started, items: {key: n}, last: {key: n} (the last load-out) }. Each load-out adds, each
// count replaces, each encounter saved here takes its supplies out (once the bag started). When nothing of this worker
// waits to be sent, the server knows everything: its figure (GET /api/v1/session) is taken.
import { getState, listRecords, sentBy, setState } from "./outbox.js";

const keyOf = (user) => `bag:${user}`;

export async function readBag() {
  const user = await getState("user");
  return { user, bag: (user && (await getState(keyOf(user)))) || { items: {}, last: {} } };
}

// sign 1 adds, -1 takes out; "count" replaces; "load" also remembers the load-out.
export async function changeBag(quantities, sign = 1, kind = "") {
  const { user, bag } = await readBag();
  if (!user || !(kind || bag.started)) return;
  bag.started = true;
  for (const [key, n] of Object.entries(quantities || {})) {
    bag.items[key] = (kind === "count" ? 0 : bag.items[key] || 0) + sign * n;
  }
  if (kind === "load") bag.last = quantities;
  await setState(keyOf(user), bag);
}

export async function adoptServerBag(session) {
  const user = session.user?.username;
  if (!user || !session.bag?.started) return;
  if ((await listRecords()).some((entry) => sentBy(entry, user))) return;
  const bag = (await getState(keyOf(user))) || { last: {} };
  await setState(keyOf(user), { ...bag, started: true, items: { ...session.bag.items } });
}

// What the bag would hold after ``quantity`` more go out, and the warning to show (if any):
// below zero, or at or under the admin's threshold. None before the bag was first loaded.
export function stockWarning(bag, key, quantity, low, text) {
  if (!bag.started) return "";
  const left = (bag.items[key] || 0) - quantity;
  if (left < 0) return text.short.replace("{n}", bag.items[key] || 0);
  if (low !== "" && left <= Number(low)) return text.low.replace("{n}", left);
  return "";
}

// /log: a warning under each tracked supply as quantities are entered. Returns the check.
export function watchBag(form, text) {
  const rows = [...form.querySelectorAll("[data-low]")];
  const check = async () => {
    const { bag } = await readBag();
    for (const row of rows) {
      const input = row.querySelector("input");
      const message = stockWarning(bag, row.dataset.supply, Number(input.value) || 0, row.dataset.low, text);
      let line = row.querySelector(".stock-warning");
      if (!line) {
        line = document.createElement("p");
        line.className = "field-warning stock-warning";
        line.setAttribute("aria-live", "polite");
        row.append(line);
      }
      if (line.textContent !== message) line.textContent = message;
    }
  };
  if (rows.length) {
    for (const type of ["input", "click", "outreach:filled"]) form.addEventListener(type, () => check());
    check();
  }
  return check;
}
