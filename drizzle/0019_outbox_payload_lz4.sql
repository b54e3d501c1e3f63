-- Outbox payloads are written once and read once or twice: compress them with lz4 (a 500-op sync
-- batch's events are ~140 KB of JSON; pglz cost ~25% of their insert). PostgreSQL built without
-- lz4 (PGlite) keeps pglz. Drizzle has no notion of column compression: the snapshot is unchanged.
DO $$ BEGIN
  ALTER TABLE "outbox" ALTER COLUMN "payload" SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  NULL;
END $$;
