// Owns remembering unfinished uploads across a page reload: the File itself is kept in IndexedDB
// (Chromium stores the blob on disk), keyed by upload session id, and removed when the session ends.
// When the browser refuses (quota, private mode) the console asks the user to pick the file again.

const DB = "flotilla-uploads";
const STORE = "files";

export interface StoredUpload {
  id: string;
  file: File;
  space: string;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export async function rememberUpload(entry: StoredUpload): Promise<boolean> {
  try {
    await run("readwrite", (store) => store.put(entry));
    return true;
  } catch {
    return false;
  }
}

export async function recallUpload(id: string): Promise<StoredUpload | null> {
  try {
    return ((await run("readonly", (store) => store.get(id))) as StoredUpload | undefined) ?? null;
  } catch {
    return null;
  }
}

export async function forgetUpload(id: string): Promise<void> {
  await run("readwrite", (store) => store.delete(id)).catch(() => undefined);
}

/** A stable id for this browser, so `GET /uploads?client_id=` finds only its own unfinished sessions. */
export function clientId(): string {
  const key = "flotilla.client_id";
  let id = localStorage.getItem(key);
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    localStorage.setItem(key, id);
  }
  return id;
}
