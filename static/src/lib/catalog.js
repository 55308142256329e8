// The catalogue on the phone: names for the outbox, and a check that the form is current.
import { getState, setState } from "./outbox.js";

// Names of supplies, referrals and zones as the logging form shows them.
export function namesFromForm(form) {
  const names = { supplies: {}, referrals: {}, zones: {} };
  for (const input of form.querySelectorAll('input[name^="supply."]')) {
    const label = form.querySelector(`label[for="${input.id}"]`);
    names.supplies[input.name.slice("supply.".length)] = label ? label.textContent.trim() : input.name;
  }
  for (const input of form.querySelectorAll('input[name="referral"]')) {
    names.referrals[input.value] = input.closest("label").textContent.trim();
  }
  for (const option of form.querySelectorAll('select[name="zone"] option')) {
    if (option.value) names.zones[option.value] = option.textContent.trim();
  }
  return names;
}

export async function rememberNames(names) {
  await setState("names", names);
}

export async function knownNames() {
  return (await getState("names")) || { supplies: {}, referrals: {}, zones: {} };
}

// Fetch the live catalogue; resolves to true when it differs from the one the page shows.
export async function catalogChanged(pageVersion, lang) {
  return Boolean(await newerCatalog(pageVersion, lang));
}

// The server's catalogue version when it differs from ``pageVersion`` (else "").
async function newerCatalog(pageVersion, lang) {
  if (!navigator.onLine) return "";
  try {
    const response = await fetch(`/api/v1/catalog?lang=${encodeURIComponent(lang)}`, {
      credentials: "same-origin",
      cache: "no-store",
    });
    if (!response.ok) return "";
    const catalog = await response.json();
    await setState("catalog", { ...catalog, fetchedAt: Date.now() });
    return catalog.version && catalog.version !== pageVersion ? catalog.version : "";
  } catch (error) {
    return "";
  }
}

// A worker page kept offline shows the catalogue it was made with (supplies, bag items). When
// the server's differs (an admin changed it), the kept pages are fetched again and this page
// reloads once with the new copy; if it is still stale after that, a banner offers a reload.
export async function keepPageCurrent(refreshOfflinePages, lang) {
  const shown = document.querySelector("[data-worker-shell]")?.dataset.catalogVersion;
  if (!shown) return;
  // Never reload under a worker who has begun to fill the form: they get the banner instead.
  let touched = false;
  const touch = () => {
    touched = true;
  };
  for (const type of ["input", "pointerdown", "keydown"]) document.addEventListener(type, touch, { capture: true, once: true });
  const version = await newerCatalog(shown, lang);
  if (!version) return;
  await refreshOfflinePages(true);
  const key = `outreach.catalogReload:${window.location.pathname}`;
  if (!touched && sessionStorage.getItem(key) !== version) {
    sessionStorage.setItem(key, version);
    window.location.reload();
    return;
  }
  const banner = document.querySelector("[data-catalog-banner]");
  if (banner) banner.hidden = false;
}
