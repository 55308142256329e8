// Card pages: the offline search box on /cards; on each card, its language and Print button.
// Everything works from the page itself, so a cached copy behaves the same with no network.
import { keepOffline } from "../lib/public-pages.js";

/** Lower-case, without accents, so "vena" finds "venas" and "inyeccion" finds "inyección". */
export function fold(text) {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

/** Whether every word of the query appears in the text (both already folded). */
export function matches(text, query) {
  return query.split(/\s+/).filter(Boolean).every((word) => text.includes(word));
}

function setUpSearch(root) {
  const box = root.querySelector("[data-card-search]");
  if (!box) return;
  const input = box.querySelector("input[type=search]");
  const status = box.querySelector("[data-search-status]");
  const items = [...root.querySelectorAll("[data-card-item]")].map((element) => ({
    element,
    // What the item shows (title, summary) and the words of the card beyond it.
    text: fold(`${element.textContent || ""} ${element.dataset.search || ""}`),
  }));
  const groups = [...root.querySelectorAll("[data-card-group]")];

  const apply = () => {
    const query = fold(input.value.trim());
    let shown = 0;
    for (const item of items) {
      const visible = !query || matches(item.text, query);
      item.element.hidden = !visible;
      if (visible) shown += 1;
    }
    for (const group of groups) {
      group.hidden = !group.querySelector("[data-card-item]:not([hidden])");
    }
    if (!query) status.textContent = "";
    else if (shown === 0) status.textContent = status.dataset.none;
    else if (shown === 1) status.textContent = status.dataset.one;
    else status.textContent = status.dataset.many.replace("{count}", String(shown));
  };

  input.addEventListener("input", apply);
  box.hidden = false;
  // A query typed before the script ran (or kept by the browser on back) still filters.
  if (input.value) apply();
}

function setUpPrint(root) {
  for (const button of root.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
    button.hidden = false;
  }
}

// The QR code is an image fetched from the network (it is only useful to a phone that has
// one); with no connection it would show as broken, so it steps aside, leaving the link.
function setUpQr(root) {
  for (const image of root.querySelectorAll("[data-qr] img")) {
    const frame = image.closest(".qr-frame");
    const hide = () => {
      if (frame) frame.hidden = true;
    };
    if (image.complete && image.naturalWidth === 0) hide();
    image.addEventListener("error", hide);
  }
}

// A card page holds the card in every language it is written in, one <article lang> each.
// Which one shows is the card's own choice: ?lang= in the address (old links, QR codes) or
// its switch link. Neither touches the app's language, and both work from a kept copy.
function showCardIn(root, lang, { focus = false } = {}) {
  const articles = [...root.querySelectorAll("article.safety-card[lang]")];
  const chosen = articles.find((article) => article.lang === lang);
  if (!chosen) return false;
  const before = articles.find((article) => !article.hidden);
  for (const article of articles) article.hidden = article !== chosen;
  const title = (article) => article?.querySelector("h1")?.textContent || "";
  if (before && before !== chosen) document.title = document.title.replace(title(before), title(chosen));
  const heading = chosen.querySelector("h1");
  if (focus && heading) {
    // Where a screen reader goes on: the card now shown, from its title.
    heading.tabIndex = -1;
    heading.focus();
  }
  return true;
}

function setUpCardLanguage(root) {
  const asked = new URLSearchParams(window.location.search).get("lang");
  if (asked) showCardIn(root, asked);
  for (const link of root.querySelectorAll("[data-card-switch]")) {
    link.addEventListener("click", (event) => {
      if (!showCardIn(root, link.dataset.cardSwitch, { focus: true })) return;
      event.preventDefault();
      // The address says which copy shows (a reload or a shared link keeps it); no request.
      const url = new URL(window.location.href);
      url.searchParams.set("lang", link.dataset.cardSwitch);
      window.history.replaceState(window.history.state, "", url);
    });
  }
}

if (typeof document !== "undefined") {
  setUpCardLanguage(document);
  setUpSearch(document);
  setUpPrint(document);
  setUpQr(document);
}

keepOffline();
