// A P-256 key pair like the server's sealing key: the public half as the phone gets it (a JWK
// with its kid), the private half for the tests to open what was sealed.
export async function sealingKeyPair(kid = "test-key") {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const { x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { publicJwk: { kty: "EC", crv: "P-256", x, y, kid }, privateKey: pair.privateKey };
}
