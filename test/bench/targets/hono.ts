/** Bare Hono, one JSON route: served by @hono/node-server under Node, Bun.serve under Bun. */
import { Hono } from "hono";
import { serveFetch } from "../serve";

const app = new Hono();
app.get("/health", (c) => c.json({ status: "ok" }));
serveFetch(app.fetch);
