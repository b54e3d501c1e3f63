/**
 * Language negotiation (design §10). `i18n()` reads `Accept-Language` (RFC 9110 §12.5.4:
 * "he-IL;q=0.9, en;q=0.8" → he) into `c.var.locale` and adds `Vary: Accept-Language` to problem
 * responses, whose `title` it localizes. `requestLocale(c)` is the locale a response speaks: the
 * signed-in user's saved locale wins over the header (looked up only when needed, i.e. on an
 * error, so successful requests pay nothing).
 */
import { eq } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import { users } from "../../db/schema";
import type { AppEnv } from "../../http/env";
import { resHeader } from "../../http/headers";
import { type Locale, negotiateLocale, toLocale } from "./locales";

declare module "../../http/env" {
  interface AppVariables {
    /** The locale negotiated from Accept-Language (the user's saved one may override: requestLocale). */
    locale: Locale;
  }
}

export interface I18nOptions {
  /** The header to negotiate from (default Accept-Language). */
  header?: string;
}

export function i18n(options: I18nOptions = {}): MiddlewareHandler<AppEnv> {
  const header = options.header ?? "accept-language";
  return async function i18nMiddleware(c, next) {
    negotiateRequestLocale(c, header);
    await next();
    varyProblemOnLanguage(c);
  };
}

/** The request half of `i18n()`: `c.var.locale` from the header. */
export function negotiateRequestLocale(c: Context<AppEnv>, header = "accept-language"): void {
  c.set("locale", negotiateLocale(c.req.header(header)));
}

/** The response half of `i18n()`: a problem's localized title varies with Accept-Language. */
export function varyProblemOnLanguage(c: Context<AppEnv>): void {
  // resHeader, not c.res.headers: on Node reading .headers builds an undici Headers for every
  // response, which cost this middleware ~14 µs per request (issue 19, src/http/headers.ts).
  if (resHeader(c.res, "content-type")?.startsWith("application/problem+json")) {
    c.res.headers.append("Vary", "Accept-Language");
  }
}

/** The locale of the response: the signed-in user's saved locale, else the negotiated one. */
export async function requestLocale(c: Context<AppEnv>): Promise<Locale> {
  const negotiated = c.get("locale") ?? negotiateLocale(c.req.header("accept-language"));
  const auth = c.get("auth");
  if (!auth) return negotiated;
  try {
    const [row] = await c
      .get("services")
      .database.db.select({ locale: users.locale })
      .from(users)
      .where(eq(users.id, auth.userId));
    return toLocale(row?.locale) ?? negotiated;
  } catch {
    // The database failing is likely why we are rendering an error: answer in the header's language.
    return negotiated;
  }
}
