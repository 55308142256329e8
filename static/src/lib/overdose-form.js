// The overdose response form on its own page, /log/overdose: saved to the outbox under the sync key
// "overdose_responses", sent by the same sync as encounters. Choices only, no free text.
// The browser checks required choices and the doses' bounds (the inputs carry them).
import { addRecord, getRecord, replaceRecord } from "./outbox.js";
import { isoWithOffset, showToast, t, uuid } from "./ui.js";
import { noteForShift } from "./shift.js";
import { setUpWhen } from "./when.js";

export const KIND = "overdose_responses";

// ``afterSave``: the shell's, so a saved record is sent as an encounter would be.
export function setUpOverdoseForm({ afterSave }) {
  const form = document.getElementById("overdose-form");
  if (!form) return;
  const fields = form.elements;
  const none = form.querySelector('[name="given_by"][value="none"]');
  const when = setUpWhen(form.querySelector("[data-when]"));
  let editing = null;

  const reset = () => {
    const zone = fields.zone.value;
    form.reset();
    fields.zone.value = zone;
    when.clear();
    editing = null;
  };
  const open = async () => {
    const id = /^#overdose=([0-9a-f-]{36})$/i.exec(window.location.hash)?.[1];
    if (!id) return;
    const entry = id && (await getRecord(id, KIND));
    if (entry) {
      // Fixing a record the server refused: its values back in the form.
      const { record } = entry;
      editing = entry;
      fields.zone.value = record.zone || "";
      when.set(record.occurred_at);
      fields.doses.value = String(record.naloxone_doses);
      for (const input of form.querySelectorAll("[type=checkbox], [type=radio]")) {
        const chosen = record[input.name];
        input.checked = Array.isArray(chosen) ? chosen.includes(input.value) : chosen === input.value;
      }
    }
  };
  const givers = () => [...form.querySelectorAll('[name="given_by"]:checked')].map((input) => input.value);
  // "Nobody" goes with no doses and no giver (the server refuses the mix): choosing one
  // side clears the other.
  form.addEventListener("change", ({ target }) => {
    if (target === none && none.checked) {
      for (const input of form.querySelectorAll('[name="given_by"]')) input.checked = input === none;
      fields.doses.value = "0";
    } else if (target.name === "given_by" || (target === fields.doses && Number(target.value) > 0)) {
      none.checked = false;
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // A time out of the contract's bounds is refused here, with the server's words.
    const time = when.read();
    when.input.setCustomValidity(time.error || "");
    if (!form.reportValidity()) return;
    const record = {
      id: editing?.id || uuid(),
      occurred_at: time.at || isoWithOffset(new Date()),
      zone: fields.zone.value || null,
      naloxone_doses: Number(fields.doses.value),
      given_by: givers(),
      ems_called: fields.ems_called.value,
      outcome: fields.outcome.value,
    };
    try {
      const kept =
        (editing && (await replaceRecord(record, { kind: KIND }))) || (await addRecord(record, { kind: KIND }));
      // The shift view's line: when, and the doses used.
      await noteForShift({
        id: kept.id,
        user: kept.record.logged_by,
        kind: KIND,
        at: Date.parse(record.occurred_at),
        totals: { overdoses: 1, naloxoneDoses: record.naloxone_doses },
      }).catch(() => null);
    } catch (failure) {
      showToast(t(failure?.reason === "signed-out" ? "signedOutSave" : "notSaved"));
      return;
    }
    reset();
    window.scrollTo({ top: 0 });
    showToast(t("saved"));
    await afterSave();
  });
  reset();
  window.addEventListener("hashchange", open);
  open();
}
