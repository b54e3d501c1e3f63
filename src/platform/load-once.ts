/**
 * A resource loaded at first use (an SDK's modules, a WASM instance): `load` runs once and its
 * promise is shared by every caller, concurrent first calls included. A load that fails is not
 * kept: the next call runs `load` again (a failed import or start may be transient).
 */
export interface LoadOnce<T> {
  (): Promise<T>;
  /** The load started so far, if any, without starting one. */
  readonly started: Promise<T> | undefined;
}

export function loadOnce<T>(load: () => Promise<T>): LoadOnce<T> {
  let loading: Promise<T> | undefined;
  const get = () => {
    loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };
  return Object.defineProperty(get, "started", { get: () => loading }) as LoadOnce<T>;
}
