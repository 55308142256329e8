// static/src/lib/seal.js: a participant code sealed to the server's key as a compact JWE
// (ECDH-ES, A256GCM). These tests open it with their own Concat KDF, written from RFC 7518
// §4.6, not the module's; tests/test_sealing.py opens the phone's output with the server's
// JOSE library. The code is padded before sealing (a 0x00 marker, the code, 0x00 fill to 64
// bytes), so every sealed code is the same length; these tests strip it as the server does.
// static/src/lib/verifier.js: the PIN's seal of the unlock key (no verifier of the password).
import assert from "node:assert/strict";
import { pbkdf2Sync } from "node:crypto";
import { describe, test } from "node:test";

import { PADDED_BYTES, base64url, padded, seal } from "../../static/src/lib/seal.js";
import {
  ITERATIONS,
  PIN_PATTERN,
  derivePinKey,
  newSalt,
  newUnlockKey,
  openUnlockKey,
  sealUnlockKey,
} from "../../static/src/lib/verifier.js";
import { sealingKeyPair } from "./keys.mjs";

const fromB64 = (text) => new Uint8Array(Buffer.from(text, "base64url"));

// RFC 7518 §4.6.2: Concat KDF, SHA-256, one round, for "A256GCM" with no apu/apv.
async function contentKey(shared) {
  const u32 = (n) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(n);
    return out;
  };
  const alg = Buffer.from("A256GCM");
  const input = Buffer.concat([u32(1), Buffer.from(shared), u32(alg.length), alg, u32(0), u32(0), u32(256)]);
  return crypto.subtle.digest("SHA-256", input);
}

async function open(jwe, privateKey) {
  const [protectedHeader, encryptedKey, iv, ciphertext, tag] = jwe.split(".");
  const header = JSON.parse(Buffer.from(protectedHeader, "base64url").toString());
  const curve = { name: "ECDH", namedCurve: "P-256" };
  const ephemeral = await crypto.subtle.importKey("jwk", header.epk, curve, false, []);
  const shared = await crypto.subtle.deriveBits({ name: "ECDH", public: ephemeral }, privateKey, 256);
  const key = await crypto.subtle.importKey("raw", await contentKey(shared), "AES-GCM", false, ["decrypt"]);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromB64(iv), additionalData: new TextEncoder().encode(protectedHeader), tagLength: 128 },
    key,
    Buffer.concat([fromB64(ciphertext), fromB64(tag)]),
  );
  const bytes = new Uint8Array(plain);
  return { header, encryptedKey, iv: fromB64(iv), tag: fromB64(tag), bytes, text: unpad(bytes) };
}

// The padding, checked and stripped (outreach/sealing.py's unpad, written again here): a 0x00
// marker byte, the code's UTF-8 bytes, then only 0x00 bytes, in all a multiple of 64 bytes.
function unpad(bytes) {
  assert.equal(bytes[0], 0, "the padding's marker byte");
  assert.ok(bytes.length >= 64 && bytes.length % 64 === 0, `padded length ${bytes.length}`);
  let end = bytes.length;
  while (end > 1 && bytes[end - 1] === 0) end -= 1;
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(1, end));
}

describe("sealing a participant code", () => {
  test("the compact JWE has five parts, no encrypted key, and the server's kid", async () => {
    const { publicJwk, privateKey } = await sealingKeyPair("2026-12");
    const jwe = await seal("RIVER-42 ñ", publicJwk);
    assert.match(jwe, /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const opened = await open(jwe, privateKey);
    assert.equal(opened.text, "RIVER-42 ñ");
    assert.equal(opened.bytes.length, 64);
    assert.equal(opened.encryptedKey, "");
    assert.deepEqual(Object.keys(opened.header).sort(), ["alg", "enc", "epk", "kid"]);
    assert.equal(opened.header.alg, "ECDH-ES");
    assert.equal(opened.header.enc, "A256GCM");
    assert.equal(opened.header.kid, "2026-12");
    assert.equal(opened.header.epk.crv, "P-256");
    assert.equal(opened.header.epk.d, undefined, "the ephemeral private key never leaves");
    assert.equal(opened.iv.length, 12);
    assert.equal(opened.tag.length, 16);
  });

  test("codes of different lengths seal to ciphertexts (and tokens) of equal length", async () => {
    const { publicJwk, privateKey } = await sealingKeyPair();
    const codes = ["X", "RIVER-42", "Tz-Harbour-5120 ñ", "M".repeat(63)];
    const jwes = await Promise.all(codes.map((code) => seal(code, publicJwk)));
    const ciphertextLengths = jwes.map((jwe) => fromB64(jwe.split(".")[3]).length);
    assert.deepEqual(ciphertextLengths, codes.map(() => PADDED_BYTES));
    assert.equal(new Set(jwes.map((jwe) => jwe.length)).size, 1, "the whole token says nothing of the length");
    for (const [n, jwe] of jwes.entries()) assert.equal((await open(jwe, privateKey)).text, codes[n]);
  });

  test("a code of 64 bytes or more pads to the next multiple of 64 and still opens", async () => {
    const { publicJwk, privateKey } = await sealingKeyPair();
    for (const [code, size] of [
      ["M".repeat(64), 128],
      ["ñ".repeat(63), 128], // 126 bytes of UTF-8 and the marker: 127
      ["ñ".repeat(64), 192],
    ]) {
      const opened = await open(await seal(code, publicJwk), privateKey);
      assert.equal(opened.bytes.length, size, code);
      assert.equal(opened.text, code);
    }
  });

  test("padded(): the marker, the code's UTF-8, zeros to the block", () => {
    const bytes = padded("Añ");
    assert.equal(bytes.length, PADDED_BYTES);
    assert.deepEqual([...bytes.subarray(0, 5)], [0, 0x41, 0xc3, 0xb1, 0]);
    assert.ok(bytes.subarray(4).every((b) => b === 0));
    assert.equal(padded("").length, PADDED_BYTES);
  });

  test("the same code seals differently every time (fresh key and IV)", async () => {
    const { publicJwk } = await sealingKeyPair();
    const [a, b] = await Promise.all([seal("RIVER-42", publicJwk), seal("RIVER-42", publicJwk)]);
    assert.notEqual(a, b);
    assert.notEqual(a.split(".")[0], b.split(".")[0]);
  });

  test("a changed header no longer opens (it is the AES-GCM additional data)", async () => {
    const { publicJwk, privateKey } = await sealingKeyPair("k1");
    const [header, ...rest] = (await seal("RIVER-42", publicJwk)).split(".");
    const changed = JSON.parse(Buffer.from(header, "base64url").toString());
    changed.kid = "k2";
    const forged = [Buffer.from(JSON.stringify(changed)).toString("base64url"), ...rest].join(".");
    await assert.rejects(open(forged, privateKey));
  });

  test("base64url has no padding and uses - and _", () => {
    assert.equal(base64url(new Uint8Array([251, 255, 191])), "-_-_");
    assert.equal(base64url(new Uint8Array([1])), "AQ");
    assert.equal(base64url(new Uint8Array([]).buffer), "");
  });
});

describe("the PIN's seal of the unlock key", () => {
  const FAST = 1000; // iterations for the tests that do not check the count itself

  // The record lib/lock.js keeps: the salt and count the PIN's key was derived with, the seal.
  async function sealedRecord(pin, unlockKey, iterations = FAST) {
    const salt = newSalt();
    const sealed = await sealUnlockKey(await derivePinKey(pin, salt, iterations), unlockKey);
    return { v: 2, user: "ana", salt, iterations, ...sealed, failures: 0 };
  }

  test("the PIN's key is PBKDF2-SHA256 of the PIN, 300 000 rounds by default", async () => {
    assert.equal(ITERATIONS, 300_000);
    const salt = newSalt();
    const expected = (iterations) => pbkdf2Sync("482913", fromB64(salt), iterations, 32, "sha256").toString("base64url");
    assert.equal(await derivePinKey("482913", salt), expected(ITERATIONS));
    assert.equal(await derivePinKey("482913", salt, FAST), expected(FAST));
    assert.notEqual(await derivePinKey("482913", newSalt(), FAST), expected(FAST), "another salt, another key");
  });

  test("salts and unlock keys are random: 16 and 32 bytes", () => {
    const salts = new Set(Array.from({ length: 20 }, newSalt));
    const keys = new Set(Array.from({ length: 20 }, newUnlockKey));
    assert.equal(salts.size, 20);
    assert.equal(keys.size, 20);
    for (const salt of salts) assert.equal(fromB64(salt).length, 16);
    for (const key of keys) assert.equal(fromB64(key).length, 32);
  });

  test("the right PIN opens the unlock key; a wrong, empty or missing one does not", async () => {
    const unlockKey = newUnlockKey();
    const record = await sealedRecord("482913", unlockKey);
    assert.equal(await openUnlockKey("482913", record), unlockKey);
    assert.equal(await openUnlockKey("482914", record), null);
    assert.equal(await openUnlockKey("", record), null);
    assert.equal(await openUnlockKey(undefined, record), null);
    assert.equal(await openUnlockKey("482913", null), null);
    assert.equal(await openUnlockKey("482913", { ...record, sealed: undefined }), null);
    assert.equal(await openUnlockKey("482913", { ...record, iterations: FAST + 1 }), null, "the count is part of the key");
  });

  test("the seal is AES-GCM under the PIN's key, and a changed seal does not open", async () => {
    const unlockKey = newUnlockKey();
    const record = await sealedRecord("482913", unlockKey);
    assert.equal(fromB64(record.iv).length, 12);
    const raw = pbkdf2Sync("482913", fromB64(record.salt), FAST, 32, "sha256");
    const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromB64(record.iv) }, key, fromB64(record.sealed));
    assert.equal(base64url(plain), unlockKey);
    const bytes = fromB64(record.sealed);
    bytes[0] ^= 1;
    assert.equal(await openUnlockKey("482913", { ...record, sealed: base64url(bytes) }), null);
  });

  test("what is kept holds neither the PIN, its key, the unlock key nor any verifier", async () => {
    const unlockKey = newUnlockKey();
    const record = await sealedRecord("482913", unlockKey);
    const pinKey = await derivePinKey("482913", record.salt, FAST);
    const kept = JSON.stringify(record);
    for (const secret of ["482913", pinKey, unlockKey]) assert.ok(!kept.includes(secret));
    assert.deepEqual(Object.keys(record).sort(), ["failures", "iterations", "iv", "salt", "sealed", "user", "v"]);
  });

  test("two seals of one key under one PIN differ (random salt and IV)", async () => {
    const unlockKey = newUnlockKey();
    const [a, b] = await Promise.all([sealedRecord("482913", unlockKey), sealedRecord("482913", unlockKey)]);
    assert.notEqual(a.salt, b.salt);
    assert.notEqual(a.iv, b.iv);
    assert.notEqual(a.sealed, b.sealed);
  });

  test("a new PIN is 6 to 12 digits", () => {
    for (const pin of ["123456", "482913", "123456789012"]) assert.match(pin, PIN_PATTERN);
    for (const pin of ["1234", "12345", "1234567890123", "12a456", " 123456", "123456 ", "１２３４５６"]) {
      assert.doesNotMatch(pin, PIN_PATTERN);
    }
  });
});
