// ESLint (flat config): the recommended rules on every script we write, with the globals of
// where each runs. `make test` runs it (`npx eslint .`).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["static/dist/**", "node_modules/**", "bench/node_modules/**", ".venv/**", "bench/results/**"] },
  js.configs.recommended,
  {
    rules: {
      // The code names what it catches even when it only recovers (`catch (error) { return
      // false; }`): reads better than a bare `catch {`, so an unused caught error is fine.
      // `_`-prefixed arguments stand for a fixed signature (idb's upgrade callback).
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  // Page scripts and the modules they share.
  { files: ["static/src/**/*.js", "static/*.js"], languageOptions: { globals: globals.browser } },
  // The service worker: its own global scope, and the build id esbuild writes in.
  {
    files: ["static/src/sw.js", "static/sw-kill-switch.js"],
    languageOptions: { globals: { ...globals.serviceworker, __BUILD_ID__: "readonly" } },
  },
  // The build, the JS tests and this file run in Node.
  { files: ["scripts/**/*.mjs", "tests/**/*.mjs", "*.js"], languageOptions: { globals: globals.node } },
];
