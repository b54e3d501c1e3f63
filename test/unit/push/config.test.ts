/**
 * Push configuration: key pairs and APNs credentials are set together or not at all, the APNs
 * host is production, sandbox or an https origin, and the host builds only the providers whose
 * credentials are set (narrowed by PUSH_PROVIDERS); every other device gets the log provider,
 * which writes one line per push.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import webpush from "web-push";
import { ConfigError, parseConfig } from "../../../src/config";
import { createJsonLogger } from "../../../src/platform/log/json";
import { PushTransientError } from "../../../src/platform/push";
import { createFcmProvider } from "../../../src/platform/push/fcm";
import { apnsOrigin, pushServiceFor } from "../../../src/platform/push/select";

const vapid = webpush.generateVAPIDKeys();
const p8 = generateKeyPairSync("ec", { namedCurve: "P-256" })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();
const apns = {
  APNS_KEY_ID: "ABC123DEFG",
  APNS_TEAM_ID: "TEAM123456",
  APNS_PRIVATE_KEY: p8,
  APNS_BUNDLE_ID: "com.horizon.app",
};

function logger() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, logger: createJsonLogger({ level: "info", sink: (l) => lines.push(JSON.parse(l)) }) };
}

describe("push configuration", () => {
  it("refuses half a VAPID pair or half the APNs credentials, naming the missing variable", () => {
    const bad = (env: Record<string, string>) => {
      try {
        parseConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).issues[0]!.variable;
      }
      return null;
    };
    expect(bad({ VAPID_PUBLIC_KEY: vapid.publicKey })).toBe("VAPID_PRIVATE_KEY");
    expect(bad({ APNS_KEY_ID: "ABC123DEFG", APNS_TEAM_ID: "T" })).toBe("APNS_PRIVATE_KEY");
    expect(bad({ VAPID_SUBJECT: "ops@horizon.test" })).toBe("VAPID_SUBJECT");
    expect(bad({ APNS_HOST: "staging" })).toBe("APNS_HOST");
    expect(
      bad({ VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, ...apns }),
    ).toBeNull();
  });

  it("APNS_HOST names Apple's endpoints or a full origin", () => {
    expect(apnsOrigin(parseConfig({}).APNS_HOST)).toBe("https://api.push.apple.com");
    expect(apnsOrigin(parseConfig({ APNS_HOST: "sandbox" }).APNS_HOST)).toBe(
      "https://api.sandbox.push.apple.com",
    );
    expect(apnsOrigin(parseConfig({ APNS_HOST: "https://127.0.0.1:8443" }).APNS_HOST)).toBe(
      "https://127.0.0.1:8443",
    );
  });

  it("builds the configured providers only; PUSH_PROVIDERS narrows them; the rest log", async () => {
    const { logger: log, lines } = logger();
    const all = pushServiceFor(
      parseConfig({ VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, ...apns }),
      log,
    );
    expect(all.providerFor("webpush").name).toBe("webpush");
    expect(all.providerFor("apns").name).toBe("apns");
    expect(all.providerFor("fcm").name).toBe("log");
    expect(all.vapidPublicKey).toBe(vapid.publicKey);
    await all.close();

    const narrowed = pushServiceFor(
      parseConfig({
        VAPID_PUBLIC_KEY: vapid.publicKey,
        VAPID_PRIVATE_KEY: vapid.privateKey,
        ...apns,
        PUSH_PROVIDERS: "apns",
      }),
      log,
    );
    expect(narrowed.providerFor("webpush").name).toBe("log");
    expect(narrowed.providerFor("apns").name).toBe("apns");
    const sent = await narrowed
      .providerFor("webpush")
      .send(
        { id: "d1", provider: "webpush", platform: "web", token: "https://push.example/x" },
        { title: "t", body: "b", data: { type: "x" }, urgent: false },
      );
    expect(sent.messageId).toMatch(/^log-/);
    expect(lines.find((l) => l.event === "push_logged")).toMatchObject({
      deviceId: "d1",
      provider: "webpush",
      title: "t",
    });
    await narrowed.close();
  });

  it("checks FCM_SERVICE_ACCOUNT when the host builds its push service, before firebase-admin is loaded", async () => {
    const { logger: log } = logger();
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const account = { project_id: "horizon-test", client_email: "push@horizon-test.iam", private_key: rsa };
    const build = (sa: Record<string, unknown>) =>
      pushServiceFor(parseConfig({ FCM_SERVICE_ACCOUNT: JSON.stringify(sa) }), log);

    const push = build(account);
    expect(push.providerFor("fcm").name).toBe("fcm");
    await push.close(); // never sent: nothing of firebase-admin to shut down
    expect(() => build({ ...account, private_key: "-----BEGIN PRIVATE KEY-----\nnot a key\n" })).toThrow(
      /private_key does not parse/,
    );
    expect(() => build({ ...account, client_email: "" })).toThrow(/client_email must be a non-empty string/);
    expect(() => build({ project_id: "horizon-test" })).toThrow(/client_email|private_key/);
  });

  it("an FCM client that fails to start is a transient failure, tried again by the next send", async () => {
    let checked = 0;
    // Not a Credential: firebase-admin's initializeApp refuses it (it reads getAccessToken).
    const credential = {
      get getAccessToken() {
        checked++;
        return undefined;
      },
    };
    const provider = createFcmProvider({ credential: credential as never, projectId: "horizon-test" });
    const device = { id: "d1", provider: "fcm" as const, token: "t", locale: "en" };
    const message = { title: "t", body: "b", data: {} };
    await expect(provider.send(device as never, message as never)).rejects.toBeInstanceOf(PushTransientError);
    const afterFirst = checked;
    expect(afterFirst).toBeGreaterThan(0);
    await expect(provider.send(device as never, message as never)).rejects.toBeInstanceOf(PushTransientError);
    expect(checked).toBeGreaterThan(afterFirst);
    await provider.close?.(); // nothing started: nothing to shut down, and no throw
  });

  it("a production host without credentials warns which providers only log", async () => {
    const { logger: log, lines } = logger();
    const push = pushServiceFor(parseConfig({ NODE_ENV: "production", FCM_SERVICE_ACCOUNT: "" }), log);
    expect(lines.find((l) => l.event === "push_providers_unconfigured")).toMatchObject({
      providers: ["webpush", "fcm", "apns"],
    });
    await push.close();
  });
});
