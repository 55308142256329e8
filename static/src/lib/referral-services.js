// On /log: when a referral is toggled, list the directory's services for it (name, open
// hours, tap to call), from /directory/services.json, which the service worker keeps offline.
let services = null;

async function loadServices() {
  if (services) return services;
  try {
    const response = await fetch("/directory/services.json", { credentials: "same-origin" });
    services = response.ok ? (await response.json()).services || [] : [];
  } catch (error) {
    services = []; // offline and never kept: the panel says none are listed
  }
  return services;
}

function serviceItem(service, callLabel) {
  const item = document.createElement("li");
  const name = document.createElement("strong");
  name.textContent = service.name;
  item.append(name);
  if (service.address) {
    const address = document.createElement("span");
    address.className = "referral-service-address";
    address.textContent = service.address;
    item.append(" ", address);
  }
  if (service.tel) {
    const call = document.createElement("a");
    call.className = "button";
    call.href = service.tel;
    call.textContent = `${callLabel} ${service.phone}`;
    item.append(" ", call);
  }
  return item;
}

export function setUpReferralServices(form) {
  const panel = document.querySelector("[data-referral-services]");
  if (!form || !panel) return;
  const list = panel.querySelector("[data-referral-services-list]");

  async function render() {
    const chosen = [...form.querySelectorAll('input[name="referral"]:checked')];
    if (!chosen.length) {
      panel.hidden = true;
      list.replaceChildren();
      return;
    }
    const all = await loadServices();
    const groups = chosen.map((input) => {
      const group = document.createElement("div");
      group.className = "referral-services-group";
      const heading = document.createElement("h4");
      heading.textContent = input.closest("label")?.textContent.trim() || input.value;
      group.append(heading);
      const matching = all.filter((service) => (service.referral_types || []).includes(input.value));
      if (matching.length) {
        const items = document.createElement("ul");
        items.append(...matching.map((service) => serviceItem(service, panel.dataset.call)));
        group.append(items);
      } else {
        const none = document.createElement("p");
        none.textContent = panel.dataset.none;
        group.append(none);
      }
      return group;
    });
    list.replaceChildren(...groups);
    panel.hidden = false;
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "referral") render();
  });
  // After a save the form is reset (and after Undo refilled): follow it.
  form.addEventListener("reset", () => setTimeout(render, 0));
  form.addEventListener("outreach:filled", render);
}
