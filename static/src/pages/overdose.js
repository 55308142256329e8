// /log/overdose: the overdose response form on its own page (kept offline like /log), so it
// is never under the encounter form's fixed Save bar.
import { setUpOverdoseForm } from "../lib/overdose-form.js";
import { afterSave, initShell } from "./shell.js";

initShell();
setUpOverdoseForm({ afterSave });
document.documentElement.dataset.ready = "true";
