// The directory: filter by referral type without a round trip (so it works offline), and
// recompute "open now" from each service's hours at the moment the page is read, since a
// cached copy may be hours old.
import { keepOffline } from "../lib/public-pages.js";
import { describe, openingStatus, weekMinutes } from "../lib/opening.js";

const DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function readStatusData() {
  const element = document.getElementById("directory-status-data");
  if (!element) return null;
  try {
    return JSON.parse(element.textContent);
  } catch {
    return null;
  }
}

function refreshStatuses(data) {
  const now = weekMinutes(new Date(), data.timezone);
  const today = DAY_KEYS[Math.floor(now / (24 * 60))];
  for (const service of document.querySelectorAll("[data-service]")) {
    let hours;
    try {
      hours = JSON.parse(service.dataset.hours || "{}");
    } catch {
      continue;
    }
    const status = openingStatus(hours, now);
    const line = service.querySelector("[data-open-status]");
    if (line) {
      line.textContent = describe(status, data.messages, data.weekdays);
      line.classList.toggle("is-open", status.state === "open" || status.state === "always");
    }
    for (const row of service.querySelectorAll("tr[data-day]")) {
      row.classList.toggle("is-today", row.dataset.day === today);
    }
  }
}

// Staff-only notes come from the network for signed-in staff and are never kept: the page
// itself is the public copy that the service worker keeps offline.
async function showStaffNotes() {
  const slots = document.querySelectorAll("[data-staff-notes]");
  // Signed out (the header has no sign-out form), there is nothing to ask for.
  const signedIn = Boolean(document.querySelector("form[data-sign-out]"));
  if (!slots.length || !signedIn || typeof navigator === "undefined" || !navigator.onLine) return;
  let notes;
  try {
    const response = await fetch("/directory/staff-notes.json", {
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual",
      headers: { Accept: "application/json" },
    });
    if (!response.ok || !response.headers.get("content-type")?.includes("json")) return;
    notes = (await response.json()).notes || {};
  } catch (error) {
    return; // offline or signed out: the public page stands
  }
  let shown = 0;
  for (const slot of slots) {
    const text = notes[slot.dataset.staffNotes];
    if (!text) continue;
    slot.querySelector("[data-staff-note-text]").textContent = text;
    slot.hidden = false;
    shown += 1;
  }
  const banner = document.querySelector("[data-staff-banner]");
  if (banner && shown) banner.hidden = false;
}

function setUpFilter() {
  const form = document.querySelector("[data-directory-filter]");
  const list = document.querySelector("[data-service-list]");
  // Only a page holding every service can filter itself; a filtered page asks the server.
  if (!form || !list || !list.hasAttribute("data-complete")) return;
  const select = form.querySelector("select");
  const status = document.querySelector("[data-filter-status]");
  const apply = () => {
    const key = select.value;
    let shown = 0;
    for (const service of list.querySelectorAll("[data-service]")) {
      const visible = !key || service.dataset.types.split(" ").includes(key);
      service.hidden = !visible;
      if (visible) shown += 1;
    }
    if (status) status.textContent = shown === 0 ? status.dataset.none : "";
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  select.addEventListener("change", apply);
  const button = form.querySelector("[data-filter-submit]");
  if (button) button.hidden = true;
  apply();
}

const data = readStatusData();
if (data) {
  refreshStatuses(data);
  // Keep the status right while the page stays open.
  setInterval(() => refreshStatuses(data), 60 * 1000);
}
setUpFilter();
showStaffNotes();

keepOffline();
