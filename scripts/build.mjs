// Front-end build: esbuild bundles with hashed names, a manifest the app reads, and the
// service worker (bundled by esbuild, with the precache list written in for
// self.__WB_MANIFEST, the name Workbox's injectManifest used, so static/src/sw.js reads it
// as before). The list comes from esbuild's own metafile: no glob, no extra package.
// Entry points: static/src/css/app.css and every static/src/pages/*.js (one per page kind).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const src = path.join(root, "static", "src");
const outdir = path.join(root, "static", "dist");

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

// admin.css: the reports and admin styles, not precached (see NOT_PRECACHED below).
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
const NOT_PRECACHED = /^(reports|admin|login)-/;
const ICONS = path.join(root, "static", "icons");
const staticUrl = (file) => "/static/" + path.relative(path.join(root, "static"), file).split(path.sep).join("/");

// Bundles, chunks and CSS: every .js/.css esbuild wrote. Their names carry a hash of their
// content, so they need no revision (null, as Workbox wrote for hashed names).
const bundles = Object.keys(result.metafile.outputs)
  .map((file) => path.join(root, file))
  .filter((file) => /\.(js|css)$/.test(file))
  .filter((file) => path.dirname(file) !== outdir || !NOT_PRECACHED.test(path.basename(file)))
  .map((file) => ({ revision: null, url: staticUrl(file) }));
// Icons keep their names across builds: their revision is the MD5 of their bytes (Workbox's
// choice, kept so a phone's cache key for an unchanged icon stays the same).
const iconFiles = (await readdir(ICONS)).filter((name) => name.endsWith(".png") && !name.endsWith("-512.png"));
const icons = await Promise.all(
  iconFiles.map(async (name) => {
    const file = path.join(ICONS, name);
    const revision = createHash("md5").update(await readFile(file)).digest("hex");
    return { revision, url: staticUrl(file) };
  }),
);
// Sorted by URL: the same sources give the same list, and so the same build id.
const manifestEntries = [...bundles, ...icons].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));

// The build id names this front end; the server reports it so an old worker knows to update.
const buildId = createHash("sha256")
  .update(JSON.stringify(manifestEntries.map((e) => [e.url, e.revision])))
  .digest("hex")
  .slice(0, 16);

const worker = await build({
  entryPoints: [path.join(src, "sw.js")],
  write: false,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  define: { __BUILD_ID__: JSON.stringify(buildId), "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
// The one place the worker reads its precache list (minifying keeps the global's name).
const INJECTION_POINT = "self.__WB_MANIFEST";
const parts = worker.outputFiles[0].text.split(INJECTION_POINT);
if (parts.length !== 2) {
  throw new Error(`static/src/sw.js must use ${INJECTION_POINT} exactly once (found ${parts.length - 1})`);
}
const swCode = parts.join(JSON.stringify(manifestEntries));
await writeFile(path.join(outdir, "sw.js"), swCode);
await writeFile(path.join(outdir, "build.json"), JSON.stringify({ build: buildId }));

const swBytes = Buffer.byteLength(swCode);
console.log("built", Object.keys(manifest).sort().join(", "), `+ sw.js (${swBytes} bytes, ${manifestEntries.length} precached)`);
