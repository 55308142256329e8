// Front-end build: esbuild bundles with hashed names, and a manifest the app reads.
import { build } from "esbuild";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const outdir = path.join(root, "static", "dist");

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

const result = await build({
  entryPoints: { app: path.join(root, "static/src/css/app.css") },
  outdir,
  bundle: true,
  minify: true,
  entryNames: "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
});

const manifest = {};
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (!info.entryPoint) continue;
  const ext = path.extname(file);
  const logical = path.basename(file).replace(/-[A-Z0-9]+(\.\w+)$/, "$1");
  manifest[logical] = path.basename(file);
}
await writeFile(path.join(outdir, "manifest.json"), JSON.stringify(manifest, null, 2));
console.log("built", Object.keys(manifest).join(", "), "from", (await readdir(outdir)).length, "files");
