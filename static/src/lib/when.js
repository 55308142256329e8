// The "When" field of the worker's forms (templates/worker/_when.html): empty means now; a
// late entry is given its real time, with quick "earlier today" and "yesterday" choices. The
// bounds are the contract's (the server refuses the rest): at most 366 days back, at most
// 24 hours ahead of this phone's clock.
import { isoWithOffset } from "./ui.js";

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const MAX_AGE_DAYS = 366;
const MAX_AHEAD = DAY;

// datetime-local's value for a moment, in this phone's time zone (minutes).
export const localValue = (date) => isoWithOffset(date).slice(0, 16);

export function setUpWhen(field, { onChange = () => {} } = {}) {
  if (!field) return null;
  const input = field.querySelector('input[type="datetime-local"]');
  const bound = () => {
    const now = Date.now();
    input.min = localValue(new Date(now - MAX_AGE_DAYS * DAY));
    input.max = localValue(new Date(now + MAX_AHEAD));
  };
  bound();
  field.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-when-choice]");
    if (!button) return;
    const now = new Date();
    const choice = button.dataset.whenChoice;
    let moment = now;
    if (choice === "earlier") {
      // An hour ago, but still today: the worker then corrects the time.
      const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
      moment = new Date(Math.max(midnight.getTime(), now.getTime() - HOUR));
    } else if (choice === "yesterday") {
      moment = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1, now.getHours(), now.getMinutes());
    }
    bound();
    input.value = localValue(moment);
    input.focus();
    onChange();
  });
  input.addEventListener("focus", bound);
  return {
    input,
    // { at: ISO with offset, or null for "now" } or { error: the server's words }.
    read() {
      const raw = input.value;
      if (!raw) return { at: null };
      const moment = new Date(raw);
      if (Number.isNaN(moment.getTime())) return { at: null };
      const now = Date.now();
      if (moment.getTime() > now + MAX_AHEAD) return { error: field.dataset.future };
      if (moment.getTime() < now - MAX_AGE_DAYS * DAY) return { error: field.dataset.tooOld };
      return { at: isoWithOffset(moment) };
    },
    set(iso) {
      input.value = iso ? localValue(new Date(iso)) : "";
    },
    clear() {
      input.value = "";
    },
  };
}
