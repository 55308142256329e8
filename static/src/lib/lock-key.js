// Shared by the sign-in page and the lock, without pulling the lock (and IndexedDB) into the
// sign-in page.
export const PENDING_KEY = "outreach-unlock";
