// What the built service worker precaches (static/dist/sw.js, written by scripts/build.mjs):
// every hashed bundle, chunk and stylesheet except the staff-only and sign-in ones, and the
// small icons with the MD5 of their bytes as revision. Reads the last `npm run build`.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

const root = path.resolve(import.meta.dirname, "..", "..");
const dist = path.join(root, "static", "dist");

function precached() {
  const worker = readFileSync(path.join(dist, "sw.js"), "utf8");
  const list = worker.match(/new Set\((\[\{.*?\}\])\.map/);
  assert.ok(list, "sw.js holds no precache list");
  return JSON.parse(list[1]);
}

function files(folder) {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
}

test("the precache list is every page bundle, chunk and stylesheet but staff and sign-in ones", () => {
  const expected = files(dist)
    .filter((file) => /\.(js|css)$/.test(file) && path.basename(file) !== "sw.js")
    .filter((file) => path.dirname(file) !== dist || !/^(reports|admin|login)-/.test(path.basename(file)))
    .map((file) => "/static/" + path.relative(path.join(root, "static"), file).split(path.sep).join("/"));
  const bundles = precached().filter((entry) => entry.url.startsWith("/static/dist/"));
  assert.deepEqual(bundles.map((entry) => entry.url).sort(), expected.sort());
  assert.ok(bundles.some((entry) => /\/chunks\//.test(entry.url)), "no shared chunk precached");
  // Hashed names change with their content: no revision.
  for (const entry of bundles) {
    assert.match(entry.url, /-[A-Z0-9]{8}\.(js|css)$/);
    assert.equal(entry.revision, null);
  }
});

test("the small icons are precached with the MD5 of their bytes, the 512 px ones are not", () => {
  const icons = path.join(root, "static", "icons");
  const expected = readdirSync(icons)
    .filter((name) => name.endsWith(".png") && !name.endsWith("-512.png"))
    .map((name) => ({
      revision: createHash("md5").update(readFileSync(path.join(icons, name))).digest("hex"),
      url: `/static/icons/${name}`,
    }));
  const listed = precached().filter((entry) => entry.url.startsWith("/static/icons/"));
  const byUrl = (a, b) => a.url.localeCompare(b.url);
  assert.deepEqual(listed.sort(byUrl), expected.sort(byUrl));
  assert.ok(listed.length >= 2);
});

test("the build id names the precache list", () => {
  const { build } = JSON.parse(readFileSync(path.join(dist, "build.json"), "utf8"));
  const entries = precached();
  const id = createHash("sha256")
    .update(JSON.stringify(entries.map((entry) => [entry.url, entry.revision])))
    .digest("hex")
    .slice(0, 16);
  assert.equal(build, id);
  assert.ok(readFileSync(path.join(dist, "sw.js"), "utf8").includes(JSON.stringify(build)));
});
