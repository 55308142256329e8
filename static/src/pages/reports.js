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

// The dashboard's sections open on a wide screen and for printing (a printed report has
// everything); on a phone they start closed, under the figures.
function folds() {
  const sections = [...document.querySelectorAll("[data-fold]")];
  if (!sections.length) return;
  if (window.matchMedia("(min-width: 60rem)").matches) sections.forEach((section) => (section.open = true));
  let before = [];
  window.addEventListener("beforeprint", () => {
    before = sections.map((section) => section.open);
    sections.forEach((section) => (section.open = true));
  });
  window.addEventListener("afterprint", () => sections.forEach((section, index) => (section.open = before[index] ?? section.open)));
}
folds();
