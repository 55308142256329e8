// Every signed-in page that is not a worker page (reports, admin, account, cards and the
// directory while signed in): the screen lock. Worker pages do the same from their shell.
// It asks the session API itself (not through lib/sync.js): these pages send no records, and
// the phone's offline download stays smaller without the sync code in one more bundle.
import { rememberSession } from "../lib/outbox.js";
import { adoptPin, initLock, lockNow, settlePendingUnlock } from "../lib/lock.js";

async function guard() {
  await initLock();
  if (!navigator.onLine) return;
  await settlePendingUnlock();
  try {
    const answer = await fetch("/api/v1/session", { credentials: "same-origin", cache: "no-store" });
    // The server knows this session is locked (another tab, or a phone that locked offline).
    if (answer.status === 423) return lockNow();
    if (!answer.ok) return;
    const session = await answer.json();
    await rememberSession(session);
    await adoptPin(session.user.username);
    await initLock();
  } catch (error) {
    // No answer: the idle lock runs on what the phone already knows.
  }
}

if (!document.querySelector("[data-worker-shell]")) guard();
