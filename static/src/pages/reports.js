// Reports page: show the custom date fields only for "Custom dates", and a print button.
// Everything works without this script; it only tidies the form.

function customDates(form) {
  const preset = form.querySelector("select[name=preset]");
  const dates = form.querySelector("[data-custom-dates]");
  if (!preset || !dates) return;
  const update = () => {
    const custom = preset.value === "custom";
    dates.hidden = !custom;
    // Hidden dates are not sent, so a preset never mixes with stale dates.
    dates.querySelectorAll("input").forEach((input) => {
      input.disabled = !custom;
    });
  };
  preset.addEventListener("change", update);
  update();
}

function printButton(button) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

const form = document.querySelector("[data-report-filters]");
if (form) customDates(form);
document.querySelectorAll("[data-print]").forEach(printButton);
