// static/src/lib/opening.js: "open now / opens at" for a directory service, read offline.
// tests/test_opening_js.py checks it against the server's computation on random weeks; these
// are the cases a reader can follow.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { describe as sentence, openingStatus, weekMinutes } from "../../static/src/lib/opening.js";

const at = (day, time) => {
  const [h, m] = time.split(":").map(Number);
  return ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].indexOf(day) * 1440 + h * 60 + m;
};
const weekdays = { mon: ["09:00", "17:00"], tue: ["09:00", "17:00"] };

describe("opening status", () => {
  test("no hours at all: unknown", () => {
    assert.deepEqual(openingStatus({}, at("mon", "10:00")), { state: "unknown" });
    assert.deepEqual(openingStatus({ mon: [] }, at("mon", "10:00")), { state: "unknown" });
  });

  test("open: says when it closes, today", () => {
    const hours = { mon: [weekdays.mon] };
    assert.deepEqual(openingStatus(hours, at("mon", "09:00")), { state: "open", time: "17:00", days: 0, weekday: 0 });
    assert.equal(openingStatus(hours, at("mon", "17:00")).state, "closed", "the closing minute is closed");
  });

  test("closed: says when it opens next, wrapping to next week", () => {
    const hours = { mon: [weekdays.mon], tue: [weekdays.tue] };
    assert.deepEqual(openingStatus(hours, at("mon", "18:00")), { state: "closed", time: "09:00", days: 1, weekday: 1 });
    assert.deepEqual(openingStatus(hours, at("sat", "12:00")), { state: "closed", time: "09:00", days: 2, weekday: 0 });
  });

  test("a range ending at or before its start runs past midnight", () => {
    const hours = { fri: [["22:00", "02:00"]] };
    assert.deepEqual(openingStatus(hours, at("sat", "01:00")), { state: "open", time: "02:00", days: 0, weekday: 5 });
    assert.deepEqual(openingStatus(hours, at("fri", "23:00")), { state: "open", time: "02:00", days: 1, weekday: 5 });
    // Sunday night into Monday morning: the week wraps.
    const sunday = { sun: [["20:00", "04:00"]] };
    assert.deepEqual(openingStatus(sunday, at("mon", "03:00")), { state: "open", time: "04:00", days: 0, weekday: 0 });
  });

  test("ranges that touch merge; every day round the clock is always open", () => {
    const split = { mon: [["09:00", "12:00"], ["12:00", "17:00"]] };
    assert.equal(openingStatus(split, at("mon", "11:00")).time, "17:00");
    const allWeek = Object.fromEntries(["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, [["00:00", "00:00"]]]));
    assert.deepEqual(openingStatus(allWeek, at("wed", "03:00")), { state: "always" });
  });
});

describe("the wall clock and the sentence", () => {
  test("minutes since Monday 00:00 in the program's time zone", () => {
    // Monday 23 November 2026, 05:30 UTC is 00:30 that Monday in New York (EST, UTC-5).
    const moment = new Date("2026-11-23T05:30:00Z");
    assert.equal(weekMinutes(moment, "America/New_York"), 30);
    assert.equal(weekMinutes(moment, "UTC"), 5 * 60 + 30);
    assert.equal(weekMinutes(moment, "America/Los_Angeles"), 6 * 1440 + 21 * 60 + 30, "still Sunday");
  });

  test("picks the template for today, tomorrow or a weekday", () => {
    const messages = {
      unknown: "Hours not known",
      always: "Open 24 hours",
      open_today: "Open until {time}",
      open_tomorrow: "Open until {time} tomorrow",
      open_day: "Open until {time} on {day}",
      closed_today: "Opens at {time}",
      closed_tomorrow: "Opens tomorrow at {time}",
      closed_day: "Opens {day} at {time}",
    };
    const names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    const say = (status) => sentence(status, messages, names);
    assert.equal(say({ state: "unknown" }), "Hours not known");
    assert.equal(say({ state: "always" }), "Open 24 hours");
    assert.equal(say({ state: "open", time: "17:00", days: 0, weekday: 0 }), "Open until 17:00");
    assert.equal(say({ state: "closed", time: "09:00", days: 1, weekday: 1 }), "Opens tomorrow at 09:00");
    assert.equal(say({ state: "closed", time: "09:00", days: 2, weekday: 0 }), "Opens Monday at 09:00");
  });
});
