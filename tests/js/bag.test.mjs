// static/src/lib/bag.js: the bag arithmetic the phone does offline (a load-out adds, a count
// replaces, an encounter takes out, the server's figure when nothing waits) and the warning
// under a supply on /log.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { adoptServerBag, changeBag, readBag, stockWarning } from "../../static/src/lib/bag.js";
import { addRecord, applyResults, destroy, setState } from "../../static/src/lib/outbox.js";

const items = async () => (await readBag()).bag.items;

beforeEach(async () => {
  await destroy();
  await setState("user", "ana");
});

describe("the bag on the phone", () => {
  test("encounters take nothing out before the first load-out or count", async () => {
    await changeBag({ syringe: 10 }, -1);
    assert.deepEqual((await readBag()).bag, { items: {}, last: {} });
  });

  test("a load-out adds and is remembered; an encounter takes out; a count replaces", async () => {
    await changeBag({ syringe: 50, naloxone: 4 }, 1, "load");
    await changeBag({ syringe: 20 }, 1, "load");
    assert.deepEqual(await items(), { syringe: 70, naloxone: 4 });
    assert.deepEqual((await readBag()).bag.last, { syringe: 20 });
    await changeBag({ syringe: 15, naloxone: 1 }, -1);
    assert.deepEqual(await items(), { syringe: 55, naloxone: 3 });
    // A count sets what it lists and leaves the rest as it was.
    await changeBag({ syringe: 40 }, 1, "count");
    assert.deepEqual(await items(), { syringe: 40, naloxone: 3 });
    assert.deepEqual((await readBag()).bag.last, { syringe: 20 }, "a count is not a load-out");
  });

  test("each worker has their own bag; nobody signed in changes nothing", async () => {
    await changeBag({ syringe: 10 }, 1, "load");
    await setState("user", "ben");
    assert.deepEqual(await items(), {});
    await setState("user", null);
    await changeBag({ syringe: 5 }, 1, "load");
    await setState("user", "ana");
    assert.deepEqual(await items(), { syringe: 10 });
  });
});

describe("the server's figure", () => {
  const session = (bag) => ({ user: { username: "ana" }, bag });

  test("is taken when nothing of this worker waits to be sent", async () => {
    await changeBag({ syringe: 10 }, 1, "load");
    await adoptServerBag(session({ started: true, items: { syringe: 8, naloxone: 2 } }));
    assert.deepEqual(await items(), { syringe: 8, naloxone: 2 });
    assert.deepEqual((await readBag()).bag.last, { syringe: 10 }, "the last load-out is kept");
  });

  test("is not taken while one of this worker's records waits (the phone knows more)", async () => {
    await changeBag({ syringe: 10 }, 1, "load");
    const waiting = await addRecord({ id: "e-1" });
    await adoptServerBag(session({ started: true, items: { syringe: 99 } }));
    assert.deepEqual(await items(), { syringe: 10 });
    await applyResults([{ id: waiting.id, status: "created" }]);
    await adoptServerBag(session({ started: true, items: { syringe: 99 } }));
    assert.deepEqual(await items(), { syringe: 99 });
  });

  test("a bag the server has never seen loaded is not taken", async () => {
    await adoptServerBag(session({ started: false, items: {} }));
    await adoptServerBag({ user: null });
    assert.equal((await readBag()).bag.started, undefined);
  });
});

describe("the warning under a supply", () => {
  const text = { short: "Only {n} in the bag", low: "{n} left after this" };
  const bag = { started: true, items: { syringe: 10 } };

  test("says how many are left at or under the threshold", () => {
    assert.equal(stockWarning(bag, "syringe", 4, "6", text), "6 left after this");
    assert.equal(stockWarning(bag, "syringe", 3, "6", text), "");
    assert.equal(stockWarning(bag, "syringe", 10, "0", text), "0 left after this");
  });

  test("says how many there are when more would go out than the bag holds", () => {
    assert.equal(stockWarning(bag, "syringe", 11, "6", text), "Only 10 in the bag");
    assert.equal(stockWarning(bag, "naloxone", 1, "", text), "Only 0 in the bag");
  });

  test("no threshold set, or a bag never loaded: no warning", () => {
    assert.equal(stockWarning(bag, "syringe", 9, "", text), "");
    assert.equal(stockWarning({ items: {} }, "syringe", 100, "5", text), "");
  });
});
