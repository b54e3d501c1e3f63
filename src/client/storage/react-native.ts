/**
 * React Native storage over an AsyncStorage-compatible object: `@react-native-async-storage/
 * async-storage` passes as is; MMKV (synchronous) through a three-line adapter, e.g.
 *   reactNativeStorage({ getItem: (k) => mmkv.getString(k) ?? null, setItem: (k, v) => mmkv.set(k, v),
 *                        removeItem: (k) => mmkv.delete(k) })
 * Keys get a prefix so the SDK's values never collide with the app's. No import of react-native:
 * the app hands its storage in, so this entry also runs (and is tested) outside React Native.
 */
import type { HorizonStorage } from "./index";

/** The part of AsyncStorage the SDK uses; sync or async results both work. */
export interface AsyncStorageLike {
  getItem(key: string): Promise<string | null> | string | null | undefined;
  setItem(key: string, value: string): Promise<void> | void;
  removeItem(key: string): Promise<void> | void;
}

export function reactNativeStorage(
  storage: AsyncStorageLike,
  options: { prefix?: string } = {},
): HorizonStorage {
  const prefix = options.prefix ?? "@horizon/";
  return {
    async getItem(key) {
      return (await storage.getItem(prefix + key)) ?? null;
    },
    async setItem(key, value) {
      await storage.setItem(prefix + key, value);
    },
    async removeItem(key) {
      await storage.removeItem(prefix + key);
    },
  };
}
