/**
 * The QStash transport wired for a test, as the edge host and the job service wire it: the real
 * adapter publishing through the real @upstash/qstash Client to the QStash stand-in, which calls
 * the job service's app (workers/jobs.ts, the real consumer routes, served over HTTP on
 * 127.0.0.1) with signed callbacks. The job service is a host of its own: it gets a services
 * bundle of its own config (signing keys, consumer URL) over the test's database and kv.
 */
import { createOutboxConsumer } from "../../../src/modules/outbox/consumer";
import type { HandlerRegistry } from "../../../src/modules/outbox/registry";
import { qstashConsumerUrls } from "../../../src/modules/outbox/routes/qstash-consume";
import type { QueueTransport, RetryPolicy } from "../../../src/platform/queue";
import { createQStashQueue } from "../../../src/platform/queue/qstash";
import type { Services } from "../../../src/services";
import { createJobsApp } from "../../../workers/jobs";
import { assembleNodeServices } from "../../../workers/node-services";
import { listen } from "../../../workers/standalone";
import { testConfig } from "../../support/app";
import { freePort } from "../../support/net";
import {
  type QStashStandin,
  type QStashStandinOptions,
  startQStashStandin,
} from "../../support/qstash-standin";

export interface QStashHarness {
  transport: QueueTransport;
  standin: QStashStandin;
  /** The job service's services (its config carries the QStash settings). */
  jobs: Services;
  urls: { deliver: string; failed: string };
  /** Where the next publishes send deliveries (tests point it at a dead port). */
  deliverTo: { url: string };
  close(): Promise<void>;
}

export async function startQStashHarness(
  services: Services,
  options: {
    registry?: HandlerRegistry;
    policies?: (topic: string) => RetryPolicy;
    leaseMs?: number;
    standin?: QStashStandinOptions;
    env?: Record<string, string>;
  } = {},
): Promise<QStashHarness> {
  const standin = await startQStashStandin(options.standin);
  const port = await freePort();
  const config = testConfig({
    QSTASH_TOKEN: standin.token,
    QSTASH_URL: standin.url,
    QSTASH_CURRENT_SIGNING_KEY: standin.currentSigningKey,
    QSTASH_NEXT_SIGNING_KEY: standin.nextSigningKey,
    QSTASH_CONSUMER_URL: `http://127.0.0.1:${port}`,
    ...options.env,
  });
  const jobs = assembleNodeServices({
    config,
    database: services.database,
    kv: services.kv,
    logger: services.logger,
    runtime: "node",
    clock: services.clock,
  });
  const consumer = createOutboxConsumer(jobs, {
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.policies ? { policies: options.policies } : {}),
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
  });
  const server = await listen(createJobsApp(jobs, { consumer }).fetch, port, "node");
  const urls = qstashConsumerUrls(config);
  const deliverTo = { url: urls.deliver };
  const qstash = createQStashQueue({
    token: standin.token,
    baseUrl: standin.url,
    deliverUrl: () => deliverTo.url,
    failureUrl: () => urls.failed,
    markPublished: (ids) => consumer.markPublished(ids),
    logger: services.logger,
    now: () => services.clock.now(),
  });
  // Events carry the production policy of their topic (record.ts); a test's short policies
  // replace it, so QStash retries on the schedule the consumer reschedules with, as in production.
  const policies = options.policies;
  const transport: QueueTransport = policies
    ? {
        kind: qstash.kind,
        enqueue: (events) => qstash.enqueue(events.map((e) => ({ ...e, policy: policies(e.topic) }))),
        close: () => qstash.close(),
      }
    : qstash;
  services.queue = transport;
  return {
    transport,
    standin,
    jobs,
    urls,
    deliverTo,
    async close() {
      if (services.queue === transport) services.queue = undefined;
      await transport.close();
      await standin.close();
      await server.close();
    },
  };
}
