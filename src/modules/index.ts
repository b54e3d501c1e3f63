/**
 * The capabilities mounted under a versioned API prefix. Each module's `register` adds its own
 * routes; adding a module is one line here, never a list of routes in a host.
 */
import type { App } from "../http/env";

type Register = (app: App) => void;

export const apiModules: Array<{ name: string; register: Register }> = [];
