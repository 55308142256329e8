// On /log: a participant code must never identify anyone. Warn, as it is typed and before
// Save (offline too), when it reads as an email address, a date of birth, a phone number or
// a name, in English or Spanish. The server refuses the same codes: these are its rules
// (outreach/privacy.py, identifying_problem), and both are checked against one table of
// cases (tests/data/participant_codes.json) so they cannot drift apart.

// Unicode's default-ignorable code points that are not format (Cf) characters already.
// The class lists combining marks and variation selectors on purpose: they are what it strips.
const DEFAULT_IGNORABLE =
  // eslint-disable-next-line no-misleading-character-class
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\u{1bca0}-\u{1bca3}\u{1d173}-\u{1d17a}\u{e0000}-\u{e0fff}]/gu;
const EMAIL = /[^\s@]+@[^\s@]+\.[^\s@]{2,}/u;
// An address spelled out: "john smith at gmail dot com", "maria (arroba) correo punto es".
const SPELLED_EMAIL = /[a-z0-9](?:[^a-z0-9]+)(?:at|arroba)(?:[^a-z0-9]+)[a-z0-9][\s\S]*?[^a-z0-9](?:dot|punto)(?:[^a-z0-9]+)[a-z]{2,}/u;
// Months in English and Spanish, whole or cut to their first letters.
const MONTHS =
  "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?" +
  "|sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?" +
  "|ene(?:ro)?|feb(?:rero)?|mar(?:zo)?|abr(?:il)?|mayo|jun(?:io)?|jul(?:io)?|ago(?:sto)?" +
  "|sept?iembre|set(?:iembre)?|oct(?:ubre)?|nov(?:iembre)?|dic(?:iembre)?";
// A day, a month by name and a year, in either order: "15 MAR 1987", "12 de mayo de 1987".
const NAMED_DATE = new RegExp(
  "(?<![a-z0-9])(?:" +
    `[0-9]{1,2}[^a-z0-9]*(?:de[^a-z0-9]+)?(?:${MONTHS})[^a-z0-9]*(?:de[^a-z0-9]+)?[0-9]{2,4}` +
    `|(?:${MONTHS})[^a-z0-9]*[0-9]{1,2}[^a-z0-9]+[0-9]{2,4}` +
    `|[0-9]{4}[^a-z0-9]*(?:${MONTHS})[^a-z0-9]*[0-9]{1,2}` +
    ")(?![a-z0-9])",
  "u",
);
// Three numbers with any separators: day, month and year in any common order.
const NUMERIC_DATE = /(?<![0-9])([0-9]{1,4})[^a-z0-9]{1,3}([0-9]{1,2})[^a-z0-9]{1,3}([0-9]{1,4})(?![0-9])/gu;
const PHONE_DIGITS = 7;
const VOWELS = /[aeiouy]/u;
const LETTER = /\p{L}/u;
const DIGIT = /\p{Nd}/u;

// The code as the server reads it: NFKC, without invisible characters.
function visible(text) {
  const kept = text
    .normalize("NFKC")
    .replace(DEFAULT_IGNORABLE, "")
    .replace(/[\p{Cf}\p{Cc}]/gu, (ch) => (/\s/u.test(ch) ? ch : ""));
  return kept.normalize("NFKC");
}

// Lower case without accents ("José" → "jose"), for the rules that read words.
export const fold = (text) => text.normalize("NFKD").replace(/\p{Mn}/gu, "").toLowerCase();

const isDate = (day, month) => day >= 1 && day <= 31 && month >= 1 && month <= 12;

function numericDate(folded) {
  for (const [, first, second, third] of folded.matchAll(NUMERIC_DATE)) {
    const [a, b, c] = [Number(first), Number(second), Number(third)];
    if (first.length === 4) {
      if (third.length <= 2 && a >= 1900 && a <= 2099 && isDate(c, b)) return true;
    } else if (first.length <= 2 && (third.length === 2 || (third.length === 4 && c >= 1900 && c <= 2099)) && (isDate(a, b) || isDate(b, a))) {
      return true;
    }
  }
  return false;
}

// PHONE_DIGITS or more digits with nothing but separators (no letter) between them.
function digitRun(text) {
  let count = 0;
  for (const ch of text) {
    if (DIGIT.test(ch)) {
      count += 1;
      if (count >= PHONE_DIGITS) return true;
    } else if (LETTER.test(ch)) {
      count = 0;
    }
  }
  return false;
}

const plainWord = (word) => LETTER.test(word) && [...word].every((ch) => LETTER.test(ch) || "'\u2019".includes(ch));

// Two or more plain words that read as a name ("JOHN SMITH", "maria.lopez"): letters only,
// split where normalisation ignores the separators; a code with a number in it is a code.
function readsAsName(text) {
  if ([...text].some((ch) => DIGIT.test(ch))) return false;
  const words = text.split(/[\s\-_./]+/u).filter(Boolean);
  if (!words.every(plainWord)) return false;
  const named = words.filter((word) => [...word].filter((ch) => LETTER.test(ch)).length >= 2 && VOWELS.test(fold(word)));
  return named.length >= 2;
}

// "email", "dob", "phone", "name", or "" when the code identifies nobody.
export function codeConcern(text) {
  const code = visible(text.trim());
  if (!code) return "";
  const folded = fold(code);
  if (EMAIL.test(code) || SPELLED_EMAIL.test(folded)) return "email";
  if (NAMED_DATE.test(folded) || numericDate(folded)) return "dob";
  if (digitRun(code)) return "phone";
  if (readsAsName(code)) return "name";
  return "";
}
