// Loaded with `node --import ./tests/js/setup.mjs --test tests/js/`: the page modules import
// "idb" (IndexedDB, which Node lacks); the tests get an in-memory stand-in instead.
import { register } from "node:module";

register("./idb-hook.mjs", import.meta.url);
