-- The created_at index of sync_processed_ops becomes BRIN: rows arrive in created_at order, so a
-- block-range summary serves a retention purge, and every pushed op no longer pays a btree insert.
DROP INDEX "sync_processed_ops_created_idx";--> statement-breakpoint
CREATE INDEX "sync_processed_ops_created_brin" ON "sync_processed_ops" USING brin ("created_at");