import type { Context } from "hono";
import type { AppEnv } from "./env";

/**
 * The caller's IP: what the host saw on the socket (Bun passes `clientIp`, @hono/node-server
 * passes `incoming`), `CF-Connecting-IP` on Workers, and `X-Forwarded-For` only when
 * TRUST_PROXY says a proxy we control sets it.
 */
export function clientIp(c: Context<AppEnv>): string {
  const env = c.env as AppEnv["Bindings"] | undefined;
  const services = c.get("services");
  if (services?.config.TRUST_PROXY) {
    const fwd = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (fwd) return fwd;
  }
  if (services?.runtime === "workerd") return c.req.header("cf-connecting-ip") ?? "unknown";
  if (typeof env?.clientIp === "string") return env.clientIp;
  return env?.incoming?.socket?.remoteAddress ?? "unknown";
}
