/**
 * PartyKit realtime bus: POSTs each message to the building's room
 * (`/parties/building/{buildingId}`), authenticated with a shared secret the room compares in
 * constant time. Runs on Workers, Bun and Node (fetch only). A failed publish throws; the caller
 * keeps the outbox row pending so the dispatcher retries it.
 */
import type { BusMessage, RealtimeBus } from "./index";

export interface PartyKitBusOptions {
  /** `my-project.user.partykit.dev`, `localhost:1999`, or a full http(s) URL. */
  host: string;
  secret: string;
  party?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export const PARTY_SECRET_HEADER = "x-horizon-party-secret";

export function partyBaseUrl(host: string): string {
  if (/^https?:\/\//.test(host)) return host.replace(/\/$/, "");
  const local = /^(localhost|127\.|\[::1\]|0\.0\.0\.0)/.test(host);
  return `${local ? "http" : "https"}://${host.replace(/\/$/, "")}`;
}

export function createPartyKitBus(options: PartyKitBusOptions): RealtimeBus {
  const base = partyBaseUrl(options.host);
  const party = options.party ?? "building";
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  return {
    kind: "partykit",
    async publish(message: BusMessage) {
      const res = await doFetch(`${base}/parties/${party}/${encodeURIComponent(message.buildingId)}`, {
        method: "POST",
        headers: { "content-type": "application/json", [PARTY_SECRET_HEADER]: options.secret },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) {
        const detail = await res.text().catch(() => "");
        throw new Error(`PartyKit publish answered ${res.status}: ${detail.slice(0, 200)}`);
      }
      await res.body?.cancel().catch(() => {});
    },
  };
}
