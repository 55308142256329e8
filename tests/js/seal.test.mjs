// static/src/lib/seal.js: a participant code sealed to the server's key as a compact JWE
// (ECDH-ES, A256GCM). These tests open it with their own Concat KDF, written from RFC 7518
// §4.6, not the module's; tests/test_sealing.py opens the phone's output with the server's
// JOSE library. static/src/lib/verifier.js: the offline unlock verifier.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { base64url, seal } from "../../static/src/lib/seal.js";
import { ITERATIONS, PIN_PATTERN, checkVerifier, makeVerifier } from "../../static/src/lib/verifier.js";
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
  return { header, encryptedKey, iv: fromB64(iv), tag: fromB64(tag), text: new TextDecoder().decode(plain) };
}

describe("sealing a participant code", () => {
  test("the compact JWE has five parts, no encrypted key, and the server's kid", async () => {
    const { publicJwk, privateKey } = await sealingKeyPair("2026-12");
    const jwe = await seal("RIVER-42 ñ", publicJwk);
    assert.match(jwe, /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const opened = await open(jwe, privateKey);
    assert.equal(opened.text, "RIVER-42 ñ");
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

describe("the unlock verifier", () => {
  test("checks the right PIN, refuses a wrong or missing one, and keeps no PIN", async () => {
    const verifier = await makeVerifier("482913");
    assert.equal(verifier.iterations, ITERATIONS);
    assert.equal(fromB64(verifier.salt).length, 16);
    assert.ok(!JSON.stringify(verifier).includes("482913"));
    assert.equal(await checkVerifier("482913", verifier), true);
    assert.equal(await checkVerifier("482914", verifier), false);
    assert.equal(await checkVerifier("", verifier), false);
    assert.equal(await checkVerifier("482913", null), false);
  });

  test("two verifiers of one PIN differ (random salt)", async () => {
    const [a, b] = await Promise.all([makeVerifier("1234"), makeVerifier("1234")]);
    assert.notEqual(a.salt, b.salt);
    assert.notEqual(a.hash, b.hash);
  });

  test("a PIN is 4 to 8 digits", () => {
    for (const pin of ["1234", "12345678"]) assert.match(pin, PIN_PATTERN);
    for (const pin of ["123", "123456789", "12a4", " 1234"]) assert.doesNotMatch(pin, PIN_PATTERN);
  });
});
