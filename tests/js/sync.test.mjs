// static/src/lib/sync.js, the parts that need no server: how the outbox is cut into requests
// (the server's record and byte limits) and how long a phone waits before trying again.
// The whole exchange with a server is in tests/browser/ (a real browser and app).
import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_BATCH, backoffDelay, batches } from "../../static/src/lib/sync.js";

const entry = (id, size = 0) => ({ id, record: { id, pad: "x".repeat(size) } });
const bytes = (e) => JSON.stringify(e.record).length + 1;

test("one request holds at most MAX_BATCH records, in outbox order", () => {
  const entries = Array.from({ length: MAX_BATCH * 2 + 1 }, (_, n) => entry(`r${n}`));
  const cut = batches(entries);
  assert.deepEqual(cut.map((b) => b.length), [MAX_BATCH, MAX_BATCH, 1]);
  assert.deepEqual(cut.flat(), entries);
});

test("a request stays within the byte limit; a record too big for it goes alone", () => {
  const entries = [entry("a", 40), entry("b", 40), entry("c", 40), entry("huge", 500), entry("d", 10)];
  const limit = bytes(entries[0]) * 2;
  const cut = batches(entries, 100, limit);
  assert.deepEqual(cut.map((b) => b.map((e) => e.id)), [["a", "b"], ["c"], ["huge"], ["d"]]);
  for (const batch of cut.filter((b) => b.length > 1)) {
    assert.ok(batch.reduce((sum, e) => sum + bytes(e), 0) <= limit);
  }
  assert.deepEqual(batches([]), []);
});

test("backoff doubles per attempt up to the cap, with jitter in its upper half", () => {
  const realRandom = Math.random;
  try {
    for (const [random, attempt, expected] of [
      [0, 0, 500],
      [0.999999, 0, 1000],
      [0, 3, 4000],
      [0.999999, 3, 8000],
      [0, 20, 30000],
      [0.999999, 20, 60000],
    ]) {
      Math.random = () => random;
      assert.equal(backoffDelay(attempt, 1000, 60000), expected, `attempt ${attempt}, random ${random}`);
    }
  } finally {
    Math.random = realRandom;
  }
});
