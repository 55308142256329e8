// Front-end build: esbuild bundles with hashed names, and a manifest the app reads.
// Entry points: static/src/css/app.css and every static/src/pages/*.js (one per page kind).
import { build } from "esbuild";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const src = path.join(root, "static", "src");
const outdir = path.join(root, "static", "dist");

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

const entryPoints = { app: path.join(src, "css", "app.css") };
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
console.log("built", Object.keys(manifest).sort().join(", "));
