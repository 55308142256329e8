// /log/overdose: the overdose response form on its own page (kept offline like /log), so it
// is never under the encounter form's fixed Save bar.
import { setUpOverdoseForm } from "../lib/overdose-form.js";
import { keepPageCurrent } from "../lib/catalog.js";
import { afterSave, initShell, refreshOfflinePages } from "./shell.js";

initShell();
setUpOverdoseForm({ afterSave });
keepPageCurrent(refreshOfflinePages, document.documentElement.lang || "en").catch(() => null);
document.documentElement.dataset.ready = "true";
