// On /log: a participant code must never identify anyone. Warn, as it is typed (offline
// too), when it looks like a name, a phone number, an email address or a date of birth, in
// English or Spanish. The server has its own check.
const MONTHS =
  "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|ene|abr|ago|dic|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre";
const DATE = new RegExp(
  `\\b\\d{1,2}[-/. ]\\d{1,2}[-/. ](\\d{4}|\\d{2})\\b|\\b\\d{4}[-/. ]\\d{1,2}[-/. ]\\d{1,2}\\b|\\b\\d{1,2}\\s*(de\\s+)?(${MONTHS})[a-z]*\\.?\\s*(de\\s+)?\\d{2,4}\\b|\\b(${MONTHS})[a-z]*\\.?\\s+\\d{1,2},?\\s+\\d{2,4}\\b`,
  "i",
);

export function codeConcern(text) {
  const code = text.trim();
  if (!code) return "";
  if (/[^\s@]+@[^\s@]+\.[^\s@]+/.test(code) || /@[^\s@]+/.test(code)) return "email";
  if (DATE.test(code)) return "dob";
  if (/(\d[\s().+-]*){7,}/.test(code)) return "phone";
  // Letters alone (with spaces, hyphens, apostrophes) read as a name; the codes we suggest
  // mix letters and digits.
  if (/^[\p{L}][\p{L}\s'’.-]*$/u.test(code) && code.replace(/[^\p{L}]/gu, "").length >= 4) return "name";
  return "";
}
