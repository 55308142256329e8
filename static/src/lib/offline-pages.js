// Ask the service worker to bring the pages it keeps offline up to date.
// ``user``: the user who just signed in (the pages change with who is signed in).
export async function refreshOfflinePages(force, user) {
  if (!("serviceWorker" in navigator) || !navigator.onLine) return null;
  const registration = await navigator.serviceWorker.ready;
  const worker = registration.active;
  if (!worker) return null;
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event) => {
      if (event.data?.ok) document.documentElement.dataset.offlineReady = "true";
      resolve(event.data);
    };
    worker.postMessage({ type: "REFRESH_PAGES", force: Boolean(force), user }, [channel.port2]);
  });
}
