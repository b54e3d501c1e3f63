/**
 * H3's baseline: bare Hono serving GET /api/v1/buildings/:id with the SELECT the building read
 * runs, through the same node-postgres pool the app uses (createPgDatabase on BENCH_DATABASE_URL,
 * seeded by the full-app target that starts first), no middleware, no auth, no cache.
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { buildings } from "../../../src/db/schema";
import { createPgDatabase } from "../../../src/platform/db/pg";
import { serveFetch } from "../serve";

const database = createPgDatabase({ url: process.env.BENCH_DATABASE_URL! });
const app = new Hono();
app.get("/api/v1/buildings/:id", async (c) => {
  const [row] = await database.db
    .select()
    .from(buildings)
    .where(eq(buildings.id, c.req.param("id")));
  return row ? c.json(row) : c.notFound();
});
serveFetch(app.fetch);
