// "Open now / opens at" from a service's weekly hours, as outreach/directory/hours.py
// computes it: wall-clock minutes from Monday 00:00 in the program's time zone, ranges that
// end at or before their start run past midnight, and a week repeated either side.

const DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY = 24 * 60;
const WEEK = 7 * DAY;

function minutes(text) {
  const [hours, mins] = text.split(":").map(Number);
  return hours * 60 + mins;
}

function clock(total) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(total / 60))}:${pad(total % 60)}`;
}

function intervals(hours) {
  const raw = [];
  DAY_KEYS.forEach((key, index) => {
    for (const [startText, endText] of hours[key] || []) {
      const start = index * DAY + minutes(startText);
      let end = index * DAY + minutes(endText);
      if (end <= start) end += DAY;
      for (const shift of [-WEEK, 0, WEEK]) raw.push([start + shift, end + shift]);
    }
  });
  raw.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged = [];
  for (const [start, end] of raw) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/** Minutes since Monday 00:00 of `date` as a wall clock in `timeZone`. */
export function weekMinutes(date, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date);
  const get = (type) => parts.find((part) => part.type === type).value;
  const weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(get("weekday"));
  return weekday * DAY + Number(get("hour")) * 60 + Number(get("minute"));
}

/** { state, time, days, weekday } like OpeningStatus in Python. */
export function openingStatus(hours, now) {
  const list = intervals(hours);
  if (list.length === 0) return { state: "unknown" };
  const today = Math.floor(now / DAY);
  for (const [start, end] of list) {
    if (start <= now && now < end) {
      if (end - start >= 3 * WEEK) return { state: "always" };
      const day = Math.floor((end - 1) / DAY);
      return { state: "open", time: clock(end - day * DAY), days: day - today, weekday: ((day % 7) + 7) % 7 };
    }
  }
  const start = Math.min(...list.map(([s]) => s).filter((s) => s > now));
  const day = Math.floor(start / DAY);
  return { state: "closed", time: clock(start - day * DAY), days: day - today, weekday: ((day % 7) + 7) % 7 };
}

/** The sentence for a status, from the translated templates the page provides. */
export function describe(status, messages, weekdays) {
  if (status.state === "unknown") return messages.unknown;
  if (status.state === "always") return messages.always;
  const suffix = status.days === 0 ? "today" : status.days === 1 ? "tomorrow" : "day";
  return messages[`${status.state}_${suffix}`]
    .replace("{time}", status.time)
    .replace("{day}", weekdays[status.weekday]);
}
