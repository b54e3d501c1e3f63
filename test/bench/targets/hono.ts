/**
 * Bare Hono, one JSON route: served by @hono/node-server under Node, Bun.serve under Bun.
 * SPIN_US=n makes the route spend n µs of CPU first (a busy loop on the clock): the calibration
 * line of the http section, what n µs of work per request does to a ratio measured over the wire.
 */
import { Hono } from "hono";
import { serveFetch } from "../serve";

const app = new Hono();
const spinMs = Number(process.env.SPIN_US ?? 0) / 1000;
if (spinMs > 0) {
  app.get("/health", (c) => {
    const until = performance.now() + spinMs;
    while (performance.now() < until);
    return c.json({ status: "ok" });
  });
} else {
  app.get("/health", (c) => c.json({ status: "ok" }));
}
serveFetch(app.fetch);
