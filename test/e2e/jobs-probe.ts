/**
 * The job service (workers/jobs.ts) as it starts in production, plus one outbox handler a test can
 * observe: topic `probe.echo` logs `probe_handled` through the services logger (so the line
 * carries the delivery's correlation id). With PROBE_HANG=1 an event whose payload says
 * `{ hang: true }` logs `probe_started` and never finishes (the SIGKILL case).
 */
import { outboxHandlers } from "../../src/modules/outbox/registry";
import { startJobs } from "../../workers/jobs";

outboxHandlers.register<{ hang?: boolean }>("probe.echo", {
  async handle(payload, ctx) {
    ctx.services.logger.info(
      { event: "probe_started", outboxId: ctx.event.id, attempt: ctx.event.attempts },
      "probe handler started",
    );
    if (payload?.hang && process.env.PROBE_HANG === "1") await new Promise(() => {});
    ctx.services.logger.info(
      { event: "probe_handled", outboxId: ctx.event.id, attempt: ctx.event.attempts, via: ctx.job.name },
      "probe handler done",
    );
  },
});

await startJobs();
