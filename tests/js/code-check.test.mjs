// static/src/lib/code-check.js: the warning on /log when a participant code looks like it
// could identify someone. Its cases are the shared table tests/data/participant_codes.json,
// which the server's rules (outreach/privacy.py) must also follow (tests/test_code_check.py):
// a change to the rules changes that table, and both sides with it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { codeConcern } from "../../static/src/lib/code-check.js";

const TABLE = new URL("../data/participant_codes.json", import.meta.url);
const { cases } = JSON.parse(readFileSync(TABLE, "utf-8"));
const CONCERNS = ["email", "dob", "phone", "name", ""];

test("the shared table holds cases of every concern, each code once", () => {
  assert.ok(Array.isArray(cases) && cases.length > 0);
  for (const { code, concern } of cases) {
    assert.equal(typeof code, "string");
    assert.ok(CONCERNS.includes(concern), `${JSON.stringify(code)}: unknown concern ${JSON.stringify(concern)}`);
  }
  for (const concern of CONCERNS) assert.ok(cases.some((c) => c.concern === concern), `no case of ${concern || "fine"}`);
  const codes = cases.map((c) => c.code);
  assert.equal(new Set(codes).size, codes.length, "a code twice in the table");
});

for (const concern of CONCERNS) {
  describe(`codes the table reads as ${concern || "fine"}`, () => {
    for (const { code } of cases.filter((c) => c.concern === concern)) {
      test(JSON.stringify(code), () => assert.equal(codeConcern(code), concern));
    }
  });
}

test("an email address wins over the digits in it", () => {
  assert.equal(codeConcern("5551234567@example.org"), "email");
});

test("an empty or blank code reads as nothing", () => {
  for (const code of ["", "   ", "\u200b"]) assert.equal(codeConcern(code), "", JSON.stringify(code));
});
