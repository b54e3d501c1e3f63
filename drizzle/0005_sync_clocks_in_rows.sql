-- Sync's per-field clocks move from sync_row_clocks into the rows they belong to (ADR 0002), and
-- op results are stored as json: a push then writes one row per op besides its op record, and
-- neither builds a jsonb value (only JavaScript reads them back). Existing clocks are carried over.
ALTER TABLE "announcements" ADD COLUMN "sync_clocks" json;--> statement-breakpoint
ALTER TABLE "apartments" ADD COLUMN "sync_clocks" json;--> statement-breakpoint
ALTER TABLE "maintenance_requests" ADD COLUMN "sync_clocks" json;--> statement-breakpoint
ALTER TABLE "request_comments" ADD COLUMN "sync_clocks" json;--> statement-breakpoint
UPDATE "announcements" t SET "sync_clocks" = json_build_object('v', k.version, 'f', k.clocks) FROM "sync_row_clocks" k WHERE k.entity = 'announcements' AND k.row_id = t.id;--> statement-breakpoint
UPDATE "apartments" t SET "sync_clocks" = json_build_object('v', k.version, 'f', k.clocks) FROM "sync_row_clocks" k WHERE k.entity = 'apartments' AND k.row_id = t.id;--> statement-breakpoint
UPDATE "maintenance_requests" t SET "sync_clocks" = json_build_object('v', k.version, 'f', k.clocks) FROM "sync_row_clocks" k WHERE k.entity = 'maintenance_requests' AND k.row_id = t.id;--> statement-breakpoint
UPDATE "request_comments" t SET "sync_clocks" = json_build_object('v', k.version, 'f', k.clocks) FROM "sync_row_clocks" k WHERE k.entity = 'request_comments' AND k.row_id = t.id;--> statement-breakpoint
DROP TABLE "sync_row_clocks" CASCADE;--> statement-breakpoint
ALTER TABLE "sync_processed_ops" ALTER COLUMN "result" SET DATA TYPE json;
