// Shared by the sign-in page and the lock, without pulling the lock (and IndexedDB) into the
// sign-in page: where the sign-in page leaves the PIN's key for the page after it.
export const PENDING_KEY = "outreach-unlock";
