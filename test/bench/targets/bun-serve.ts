/** Baseline under Bun: bare Bun.serve answering the same JSON as the Hono targets. */
import { serveFetch } from "../serve";

const body = JSON.stringify({ status: "ok" });
serveFetch(() => new Response(body, { headers: { "content-type": "application/json" } }));
