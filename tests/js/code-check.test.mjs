// static/src/lib/code-check.js: the warning on /log when a participant code looks like it
// could identify someone. Written against the rules as they stand; the server has its own
// check (outreach/encounters/validation.py, tests/test_validation_properties.py), and a
// change to the rules changes the cases here, so they live in a file of their own.
import assert from "node:assert/strict";
import { test } from "node:test";

import { codeConcern } from "../../static/src/lib/code-check.js";

const cases = {
  email: ["ana@example.org", " x@y "],
  dob: ["12/05/1987", "1987-05-12", "12.5.87", "12 de mayo de 1987", "5 mayo 87", "May 12, 1987"],
  phone: ["555-123-4567", "(555) 123 4567", "+1 555 1234567", "MJ12031987"],
  name: ["Maria", "María José", "O'Brien", "Núñez", "Jean-Luc"],
  "": ["", "   ", "RIVER-42", "AB12", "KX7-B9", "ana-1987", "abc 12", "Ana", "Jo-e"],
};

for (const [concern, codes] of Object.entries(cases)) {
  test(`codes read as ${concern || "fine"}`, () => {
    for (const code of codes) assert.equal(codeConcern(code), concern, JSON.stringify(code));
  });
}

test("an email address wins over the digits in it", () => {
  assert.equal(codeConcern("5551234567@example.org"), "email");
});
