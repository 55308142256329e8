// On /log: a participant code must never identify anyone. Warn, as it is typed (offline
// too), when it looks like a name, a phone number, an email address or a date of birth, in
// English or Spanish. The server has its own check.
// Dates: 12/05/1987, 1987-05-12, 12 de mayo de 1987, 5 mayo 87, May 12, 1987.
const DATE = /\d{1,4}[-/. ]\d{1,2}[-/. ]\d{2,4}|\d{1,2}\s*(de\s+)?\p{L}{3,}\.?\s*(de\s+)?\d{2,4}|\p{L}{3,}\.?\s+\d{1,2},?\s+\d{4}/u;

export function codeConcern(text) {
  const code = text.trim();
  if (!code) return "";
  if (code.includes("@")) return "email";
  if (DATE.test(code)) return "dob";
  if (/(\d[\s().+-]*){7,}/.test(code)) return "phone";
  // Letters alone (with spaces, hyphens, apostrophes) read as a name; the codes we suggest
  // mix letters and digits.
  if (/^\p{L}[\p{L}\s'’.-]*$/u.test(code) && code.replace(/[^\p{L}]/gu, "").length >= 4) return "name";
  return "";
}
