/**
 * Builds the push service of a Node host from its config: Web Push when a VAPID key pair is set
 * (the standalone host always sets one, generated into DATA_DIR), FCM with a service account, APNs
 * with token-auth credentials; PUSH_PROVIDERS narrows the list. A provider not built sends through
 * the log provider. Node-only: imported by workers/node-services.ts.
 */
import type { Config } from "../../config";
import type { Logger } from "../log";
import { resolveHost } from "../net/pinned-fetch";
import { type HostResolver, outboundPolicyFrom } from "../net/ssrf";
import { APNS_PRODUCTION, APNS_SANDBOX, createApnsProvider } from "./apns";
import { createFcmProvider } from "./fcm";
import {
  createPushService,
  type PushProvider,
  type PushProviderName,
  type PushService,
  type PushServiceInit,
} from "./index";
import { createLogPushProvider } from "./log";
import { createWebPushProvider } from "./webpush";

export const DEFAULT_VAPID_SUBJECT = "mailto:push@horizon.invalid";

/** Providers named by PUSH_PROVIDERS, or null for "every configured one". */
function enabledProviders(config: Config): Set<string> | null {
  if (!config.PUSH_PROVIDERS) return null;
  return new Set(
    config.PUSH_PROVIDERS.split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

export function apnsOrigin(host: Config["APNS_HOST"]): string {
  return host === "production" ? APNS_PRODUCTION : host === "sandbox" ? APNS_SANDBOX : host;
}

export interface PushServiceOverrides {
  /** Adapters to use instead of the configured ones (tests: stand-in-bound providers). */
  providers?: Partial<Record<PushProviderName, PushProvider>>;
  resolveHost?: HostResolver;
  /** Sync pokes' debounce (default 10 s), or null to turn them off. */
  syncPokes?: { debounceMs: number } | null;
  /** Breaker settings (tests: a clock). */
  breaker?: PushServiceInit["breaker"];
}

export function pushServiceFor(
  config: Config,
  logger: Logger,
  overrides: PushServiceOverrides = {},
): PushService {
  const enabled = enabledProviders(config);
  const on = (name: PushProviderName) => !enabled || enabled.has(name);
  const providers: Partial<Record<PushProviderName, PushProvider>> = {};
  const resolve = overrides.resolveHost ?? resolveHost;
  if (on("webpush") && config.VAPID_PUBLIC_KEY && config.VAPID_PRIVATE_KEY) {
    providers.webpush = createWebPushProvider({
      vapidPublicKey: config.VAPID_PUBLIC_KEY,
      vapidPrivateKey: config.VAPID_PRIVATE_KEY,
      vapidSubject: config.VAPID_SUBJECT ?? DEFAULT_VAPID_SUBJECT,
      policy: outboundPolicyFrom(config),
      resolve,
    });
  }
  if (on("fcm") && config.FCM_SERVICE_ACCOUNT) {
    providers.fcm = createFcmProvider({ serviceAccount: JSON.parse(config.FCM_SERVICE_ACCOUNT) });
  }
  if (
    on("apns") &&
    config.APNS_KEY_ID &&
    config.APNS_TEAM_ID &&
    config.APNS_PRIVATE_KEY &&
    config.APNS_BUNDLE_ID
  ) {
    providers.apns = createApnsProvider({
      keyId: config.APNS_KEY_ID,
      teamId: config.APNS_TEAM_ID,
      privateKey: config.APNS_PRIVATE_KEY.replace(/\\n/g, "\n"),
      bundleId: config.APNS_BUNDLE_ID,
      host: apnsOrigin(config.APNS_HOST),
    });
  }
  const logged = (["webpush", "fcm", "apns"] as const).filter(
    (p) => !providers[p] && !overrides.providers?.[p],
  );
  if (logged.length && config.NODE_ENV === "production") {
    // Devices of these providers get log lines, not pushes (and their deliveries read "sent").
    logger.warn(
      { event: "push_providers_unconfigured", providers: logged },
      `push: no credentials for ${logged.join(", ")}: those devices get the log provider`,
    );
  }
  return createPushService({
    providers: { ...providers, ...overrides.providers },
    fallback: createLogPushProvider(logger.child({ component: "push" })),
    vapidPublicKey: config.VAPID_PUBLIC_KEY,
    resolveHost: resolve,
    breaker: overrides.breaker,
    syncPokes: overrides.syncPokes === null ? undefined : (overrides.syncPokes ?? { debounceMs: 10_000 }),
  });
}
