// Every signed-in page that is not a worker page (reports, admin, account, cards and the
// directory while signed in): the screen lock. Worker pages do the same from their shell.
import { adoptPin, initLock, lockNow, settlePendingUnlock } from "../lib/lock.js";
import { currentSession } from "../lib/sync.js";

async function guard() {
  await initLock();
  if (!navigator.onLine) return;
  await settlePendingUnlock();
  try {
    const session = await currentSession();
    await adoptPin(session.user.username);
    await initLock();
  } catch (error) {
    // The server knows this session is locked (another tab, or a phone that locked offline).
    if (error.status === 423) lockNow();
  }
}

if (!document.querySelector("[data-worker-shell]")) guard();
