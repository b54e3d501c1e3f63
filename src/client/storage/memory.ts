/** In-memory storage: tests, and apps that accept losing the session and queued edits on restart. */
import type { HorizonStorage } from "./index";

export class MemoryStorage implements HorizonStorage {
  private readonly map = new Map<string, string>();

  async getItem(key: string): Promise<string | null> {
    return this.map.get(key) ?? null;
  }

  async setItem(key: string, value: string): Promise<void> {
    this.map.set(key, String(value));
  }

  async removeItem(key: string): Promise<void> {
    this.map.delete(key);
  }
}

export function memoryStorage(): HorizonStorage {
  return new MemoryStorage();
}
