/**
 * Browser storage: one IndexedDB object store of string values. Each write is its own readwrite
 * transaction and resolves on `complete` (committed), rejecting on error or abort (quota
 * exceeded, private mode): the SDK then refuses the edit.
 */
import type { HorizonStorage } from "./index";

const STORE = "kv";

const requestOf = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

const committed = (tx: IDBTransaction) =>
  new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });

export class IndexedDbStorage implements HorizonStorage {
  private db: Promise<IDBDatabase> | null = null;

  constructor(
    private readonly name = "horizon",
    private readonly factory: IDBFactory = globalThis.indexedDB,
  ) {}

  private open(): Promise<IDBDatabase> {
    this.db ??= (() => {
      const req = this.factory.open(this.name, 1);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
      };
      return requestOf(req);
    })();
    return this.db;
  }

  async getItem(key: string): Promise<string | null> {
    const db = await this.open();
    const value = await requestOf(db.transaction(STORE, "readonly").objectStore(STORE).get(key));
    return typeof value === "string" ? value : null;
  }

  async setItem(key: string, value: string): Promise<void> {
    const tx = (await this.open()).transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(String(value), key);
    await committed(tx);
  }

  async removeItem(key: string): Promise<void> {
    const tx = (await this.open()).transaction(STORE, "readwrite");
    tx.objectStore(STORE).delete(key);
    await committed(tx);
  }

  async close(): Promise<void> {
    if (this.db) (await this.db).close();
    this.db = null;
  }
}

export function indexedDbStorage(name?: string, factory?: IDBFactory): IndexedDbStorage {
  return new IndexedDbStorage(name, factory);
}
