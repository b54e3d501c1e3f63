/** Which host QStash calls back for an event: Node-only families go to the job service. */
import { describe, expect, it } from "vitest";
import { qstashConsumerUrls } from "../../src/modules/outbox/routes/qstash-consume";
import { testConfig } from "../support/app";

describe("QStash callback routing", () => {
  const edge = "https://api.horizon.example/";
  const jobs = "https://jobs.horizon.example";

  it("sends the families whose handlers need Node to QSTASH_JOBS_URL, the rest to QSTASH_CONSUMER_URL", () => {
    const config = testConfig({ QSTASH_CONSUMER_URL: edge, QSTASH_JOBS_URL: jobs });
    for (const topic of [
      "notifications.push",
      "webhooks.deliver",
      "files.uploaded",
      "notifications.domain",
    ]) {
      expect(qstashConsumerUrls(config, topic)).toEqual({
        deliver: `${jobs}/queue/qstash/deliver`,
        failed: `${jobs}/queue/qstash/failed`,
      });
    }
    for (const topic of ["realtime.poke", "sync.conflict", "notificationsX.y", "webhook.deliver"]) {
      expect(qstashConsumerUrls(config, topic).deliver).toBe(
        "https://api.horizon.example/queue/qstash/deliver",
      );
    }
  });

  it("keeps everything on QSTASH_CONSUMER_URL without a job service, and honours QSTASH_JOBS_FAMILIES", () => {
    expect(qstashConsumerUrls(testConfig({ QSTASH_CONSUMER_URL: edge }), "files.uploaded").deliver).toBe(
      "https://api.horizon.example/queue/qstash/deliver",
    );
    const only = testConfig({
      QSTASH_CONSUMER_URL: edge,
      QSTASH_JOBS_URL: jobs,
      QSTASH_JOBS_FAMILIES: " files ,,",
    });
    expect(qstashConsumerUrls(only, "files.uploaded").deliver).toBe(`${jobs}/queue/qstash/deliver`);
    expect(qstashConsumerUrls(only, "webhooks.deliver").deliver).toBe(
      `${edge}queue/qstash/deliver`.replace("//queue", "/queue"),
    );
  });
});
