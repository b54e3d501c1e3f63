/**
 * After-commit hooks that modules register: work that must follow a write's commit and precede
 * its room pokes (a read after a write must not see the old rows), owned by the module whose
 * state it concerns. The buildings module drops its cached reads here, so the realtime publisher
 * needs no import of buildings.
 */
import type { Services } from "../../services";

export interface CommittedWrite {
  /** Buildings whose sync version the committed transaction moved (one poke each). */
  bumpedBuildings: readonly string[];
}

export type AfterCommitHook = (services: Services, committed: CommittedWrite) => Promise<void>;

const hooks = new Map<string, AfterCommitHook>();

/** Registers (or replaces, by name: module loading may repeat) a hook run after each commit. */
export function registerAfterCommit(name: string, hook: AfterCommitHook): void {
  hooks.set(name, hook);
}

/** Runs every registered hook, in registration order, once a transaction committed. */
export async function runAfterCommit(services: Services, committed: CommittedWrite): Promise<void> {
  for (const hook of hooks.values()) await hook(services, committed);
}
