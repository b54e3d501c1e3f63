/**
 * Identity: accounts, passwords (argon2id through services.passwords), sessions (short-lived JWT
 * access tokens, rotating opaque refresh tokens with theft detection), the caller's profile and
 * the first platform administrator. Building roles live in the buildings module.
 */
import type { App } from "../../http/env";
import { registerGetMe } from "./routes/get-me";
import { registerLogin } from "./routes/login";
import { registerLogout } from "./routes/logout";
import { registerRefresh } from "./routes/refresh";
import { registerRegister } from "./routes/register";
import { registerUpdateMe } from "./routes/update-me";

export function registerIdentity(app: App): void {
  registerRegister(app);
  registerLogin(app);
  registerRefresh(app);
  registerLogout(app);
  registerGetMe(app);
  registerUpdateMe(app);
}
