/**
 * Device verbs: a signed-in user registers the push tokens of their own devices, lists and
 * removes them. A token is one row per provider: registering it again (from another account on
 * the same phone or browser) moves it to the new user, so nobody keeps receiving another user's
 * notifications.
 */
import { and, desc, eq, getTableColumns, notInArray, sql } from "drizzle-orm";
import { users } from "../../db/schema";
import { ApiError } from "../../errors";
import { assertPublicUrl, OutboundRefused, outboundPolicyFrom } from "../../platform/net/ssrf";
import { userOf, type VerbContext } from "../../verbs";
import { pushDevices } from "./schema";
import type { RegisterDeviceInput } from "./schemas";

/** Devices kept per user; registering one more forgets the least recently seen. */
export const MAX_DEVICES_PER_USER = 20;

export type DeviceRow = typeof pushDevices.$inferSelect;

function me(ctx: VerbContext) {
  const user = userOf(ctx);
  if (!user) throw new ApiError("UNAUTHENTICATED");
  return user;
}

/**
 * A Web Push endpoint is a URL the browser chose and we will POST to: https, and every address it
 * resolves to public (the SSRF guard of platform/net; the send checks again and pins the address).
 */
export async function checkPushEndpoint(ctx: VerbContext, endpoint: string): Promise<void> {
  if (!endpoint.startsWith("https://")) {
    throw new ApiError("BAD_REQUEST", "endpoint must be https", {
      errors: [{ path: "json.subscription.endpoint", message: "scheme: must be https" }],
      extensions: { reason: "scheme" },
    });
  }
  try {
    await assertPublicUrl(endpoint, outboundPolicyFrom(ctx.services.config), {
      resolve: ctx.services.push?.resolveHost,
    });
  } catch (err) {
    if (!(err instanceof OutboundRefused)) throw err;
    throw new ApiError("BAD_REQUEST", `endpoint refused: ${err.message}`, {
      errors: [{ path: "json.subscription.endpoint", message: `${err.reason}: ${err.message}` }],
      extensions: { reason: err.reason },
    });
  }
}

export async function registerDevice(
  ctx: VerbContext,
  input: RegisterDeviceInput,
): Promise<{ device: DeviceRow; created: boolean }> {
  const user = me(ctx);
  const token = input.provider === "webpush" ? input.subscription!.endpoint : input.token!;
  if (input.provider === "webpush") await checkPushEndpoint(ctx, token);
  let { locale, timezone } = input;
  if (!locale || !timezone) {
    const [profile] = await ctx.db
      .select({ locale: users.locale, timezone: users.timezone })
      .from(users)
      .where(eq(users.id, user.userId));
    locale ??= profile?.locale ?? "en";
    timezone ??= profile?.timezone ?? "UTC";
  }
  const values = {
    userId: user.userId,
    platform: input.platform,
    provider: input.provider,
    token,
    p256dh: input.subscription?.keys.p256dh ?? null,
    auth: input.subscription?.keys.auth ?? null,
    appVersion: input.appVersion ?? null,
    locale,
    timezone,
    lastSeenAt: ctx.now,
  };
  const [row] = await ctx.db
    .insert(pushDevices)
    .values(values)
    .onConflictDoUpdate({
      target: [pushDevices.provider, pushDevices.token],
      // The token moves to whoever registered it last, with that registration's keys and settings.
      set: {
        userId: values.userId,
        platform: values.platform,
        p256dh: values.p256dh,
        auth: values.auth,
        appVersion: values.appVersion,
        locale: values.locale,
        timezone: values.timezone,
        lastSeenAt: values.lastSeenAt,
        updatedAt: sql`now()`,
      },
    })
    .returning({ ...getTableColumns(pushDevices), inserted: sql<boolean>`(xmax = 0)` });
  const { inserted, ...device } = row!;
  await forgetStaleDevices(ctx, user.userId);
  return { device, created: Boolean(inserted) };
}

/** Keeps the MAX_DEVICES_PER_USER most recently seen devices of a user. */
async function forgetStaleDevices(ctx: VerbContext, userId: string): Promise<void> {
  const keep = ctx.db
    .select({ id: pushDevices.id })
    .from(pushDevices)
    .where(eq(pushDevices.userId, userId))
    .orderBy(desc(pushDevices.lastSeenAt), desc(pushDevices.id))
    .limit(MAX_DEVICES_PER_USER);
  await ctx.db
    .delete(pushDevices)
    .where(and(eq(pushDevices.userId, userId), notInArray(pushDevices.id, keep)));
}

export async function listDevices(ctx: VerbContext): Promise<DeviceRow[]> {
  const user = me(ctx);
  return ctx.db
    .select()
    .from(pushDevices)
    .where(eq(pushDevices.userId, user.userId))
    .orderBy(desc(pushDevices.lastSeenAt), desc(pushDevices.id));
}

/** Removes one of the caller's devices; another user's device is "not found", like a missing one. */
export async function deleteDevice(ctx: VerbContext, deviceId: string): Promise<void> {
  const user = me(ctx);
  const gone = await ctx.db
    .delete(pushDevices)
    .where(and(eq(pushDevices.id, deviceId), eq(pushDevices.userId, user.userId)))
    .returning({ id: pushDevices.id });
  if (!gone.length) throw new ApiError("NOT_FOUND", "device not found");
}
