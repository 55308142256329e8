// Front-end build: esbuild bundles with hashed names, a manifest the app reads, and the
// service worker (bundled by esbuild, then Workbox injectManifest adds the precache list).
// Entry points: static/src/css/app.css and every static/src/pages/*.js (one per page kind).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import workboxBuild from "workbox-build";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const src = path.join(root, "static", "src");
const outdir = path.join(root, "static", "dist");

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

// admin.css: the reports and admin styles, not precached (see globIgnores below).
const entryPoints = { app: path.join(src, "css", "app.css"), admin: path.join(src, "css", "admin.css") };
const pages = await readdir(path.join(src, "pages")).catch(() => []);
for (const file of pages.sort()) {
  if (file.endsWith(".js")) entryPoints[path.basename(file, ".js")] = path.join(src, "pages", file);
}

const result = await build({
  entryPoints,
  outdir,
  bundle: true,
  minify: true,
  format: "esm",
  splitting: true,
  target: ["es2020"],
  entryNames: "[name]-[hash]",
  chunkNames: "chunks/[name]-[hash]",
  metafile: true,
  logLevel: "warning",
});

// Logical name ("app.css", "log.js") → hashed file, for asset_url() in templates.
const manifest = {};
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (!info.entryPoint) continue;
  const logical = path.basename(file).replace(/-[A-Z0-9]+(\.\w+)$/, "$1");
  manifest[logical] = path.relative(outdir, path.join(root, file));
}
await writeFile(path.join(outdir, "manifest.json"), JSON.stringify(manifest, null, 2));

// --- Service worker -------------------------------------------------------------------
// What it precaches: every bundle and chunk, and the small icons. Staff-only bundles
// (reports, admin) and the sign-in page's are left out: those pages are never available
// offline. The 512 px manifest icons are left out too: the browser downloads them itself
// when the app is installed, and no page shows them (they cost 5 KB of the offline budget).
const precache = {
  globDirectory: path.join(root, "static"),
  globPatterns: ["dist/**/*.{js,css}", "icons/*.png"],
  globIgnores: ["dist/sw.js", "dist/reports*", "dist/admin*", "dist/login*", "**/*.map", "icons/*-512.png"],
  modifyURLPrefix: { "": "/static/" },
  // Hashed names change with their content: no revision needed.
  dontCacheBustURLsMatching: /-[A-Z0-9]{8}\.(js|css)$/,
};
const { manifestEntries } = await workboxBuild.getManifest(precache);
// The build id names this front end; the server reports it so an old worker knows to update.
const icons = await Promise.all(
  manifestEntries.filter((e) => e.url.includes("/icons/")).map((e) => e.revision || ""),
);
const buildId = createHash("sha256")
  .update(JSON.stringify(manifestEntries.map((e) => [e.url, e.revision])) + icons.join())
  .digest("hex")
  .slice(0, 16);

const tmp = await mkdtemp(path.join(os.tmpdir(), "outreach-sw-"));
const swSrc = path.join(tmp, "sw.js");
await build({
  entryPoints: [path.join(src, "sw.js")],
  outfile: swSrc,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  define: { __BUILD_ID__: JSON.stringify(buildId), "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
const injected = await workboxBuild.injectManifest({
  ...precache,
  swSrc,
  swDest: path.join(outdir, "sw.js"),
});
await rm(tmp, { recursive: true, force: true });
for (const warning of injected.warnings) console.warn("workbox:", warning);
await writeFile(path.join(outdir, "build.json"), JSON.stringify({ build: buildId }));

const swBytes = (await readFile(path.join(outdir, "sw.js"))).length;
console.log("built", Object.keys(manifest).sort().join(", "), `+ sw.js (${swBytes} bytes, ${injected.count} precached)`);
