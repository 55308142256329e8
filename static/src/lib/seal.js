// Seal the participant code to the server's public key at save time, so nothing on the phone
// can read it back. JWE compact serialisation (RFC 7516) with alg ECDH-ES and enc A256GCM
// (RFC 7518 §4.6, §5.3) on WebCrypto alone: a library would not fit the offline budget.
// The server opens it with a JOSE library (outreach/sealing.py); tests check both ways.

const encoder = new TextEncoder();

export function base64url(bytes) {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// A 32-bit big-endian length followed by the bytes (the Concat KDF's field format).
function lengthPrefixed(bytes) {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// Concat KDF (NIST SP 800-56A) with SHA-256, one round: 256 bits for A256GCM.
async function concatKdf(sharedSecret, enc) {
  const otherInfo = concat(
    lengthPrefixed(encoder.encode(enc)), // AlgorithmID: "enc" for direct key agreement
    lengthPrefixed(new Uint8Array(0)), // PartyUInfo (no "apu")
    lengthPrefixed(new Uint8Array(0)), // PartyVInfo (no "apv")
    new Uint8Array([0, 0, 1, 0]), // SuppPubInfo: key length in bits, 256
  );
  const input = concat(new Uint8Array([0, 0, 0, 1]), new Uint8Array(sharedSecret), otherInfo);
  return crypto.subtle.digest("SHA-256", input);
}

// Every sealed code is the same length, whatever the code's length: the plaintext is a 0x00
// byte (marks it padded: a code never starts with NUL, and older phones sent the bare code),
// the code's UTF-8 bytes, then 0x00 bytes up to PADDED_BYTES (or the next multiple of it
// for a code longer in bytes). The server strips it (outreach/sealing.py).
export const PADDED_BYTES = 64;

export function padded(text) {
  const bytes = encoder.encode(text);
  const size = Math.max(PADDED_BYTES, Math.ceil((bytes.length + 1) / PADDED_BYTES) * PADDED_BYTES);
  const out = new Uint8Array(size); // zero-filled
  out.set(bytes, 1);
  return out;
}

// The compact JWE of ``text`` for ``jwk`` (the server's public P-256 key, with its kid).
export async function seal(text, jwk) {
  const curve = { name: "ECDH", namedCurve: "P-256" };
  const serverKey = await crypto.subtle.importKey(
    "jwk",
    { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
    curve,
    false,
    [],
  );
  // A fresh key pair per code; its private half never leaves this function.
  const ephemeral = await crypto.subtle.generateKey(curve, false, ["deriveBits"]);
  const shared = await crypto.subtle.deriveBits({ name: "ECDH", public: serverKey }, ephemeral.privateKey, 256);
  const { x, y } = await crypto.subtle.exportKey("jwk", ephemeral.publicKey);
  const header = { alg: "ECDH-ES", enc: "A256GCM", kid: jwk.kid, epk: { kty: "EC", crv: "P-256", x, y } };
  const protectedHeader = base64url(encoder.encode(JSON.stringify(header)));
  const key = await crypto.subtle.importKey("raw", await concatKdf(shared, "A256GCM"), "AES-GCM", false, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(protectedHeader), tagLength: 128 },
      key,
      padded(text),
    ),
  );
  const tag = sealed.slice(-16);
  return [protectedHeader, "", base64url(iv), base64url(sealed.slice(0, -16)), base64url(tag)].join(".");
}
