-- Per building, the newest sync_version written to each synced table. Statement triggers keep it
-- on every insert and update of the six tables, whoever writes them (sync push, REST routes, seed,
-- admin, plain SQL), so it is never below any row's version; a pull reads only the tables whose
-- head is above its cursor (src/modules/sync/pull.ts). One statement of a push batch costs one
-- upsert here, not one per row.
CREATE TABLE "sync_entity_heads" (
	"building_id" uuid PRIMARY KEY NOT NULL,
	"heads" jsonb DEFAULT '{}'::jsonb NOT NULL
);--> statement-breakpoint
CREATE OR REPLACE FUNCTION sync_note_entity_heads() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sync_entity_heads AS h (building_id, heads)
    SELECT building_id, jsonb_build_object(TG_ARGV[0], max(sync_version)) FROM changed GROUP BY building_id
  ON CONFLICT (building_id) DO UPDATE
    SET heads = h.heads || excluded.heads
    WHERE coalesce((h.heads ->> TG_ARGV[0])::bigint, -1) < (excluded.heads ->> TG_ARGV[0])::bigint;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER apartments_sync_heads_insert AFTER INSERT ON "apartments"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('apartments');
--> statement-breakpoint
CREATE TRIGGER apartments_sync_heads_update AFTER UPDATE ON "apartments"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('apartments');
--> statement-breakpoint
CREATE TRIGGER memberships_sync_heads_insert AFTER INSERT ON "memberships"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('memberships');
--> statement-breakpoint
CREATE TRIGGER memberships_sync_heads_update AFTER UPDATE ON "memberships"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('memberships');
--> statement-breakpoint
CREATE TRIGGER maintenance_requests_sync_heads_insert AFTER INSERT ON "maintenance_requests"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('maintenance_requests');
--> statement-breakpoint
CREATE TRIGGER maintenance_requests_sync_heads_update AFTER UPDATE ON "maintenance_requests"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('maintenance_requests');
--> statement-breakpoint
CREATE TRIGGER request_comments_sync_heads_insert AFTER INSERT ON "request_comments"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('request_comments');
--> statement-breakpoint
CREATE TRIGGER request_comments_sync_heads_update AFTER UPDATE ON "request_comments"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('request_comments');
--> statement-breakpoint
CREATE TRIGGER announcements_sync_heads_insert AFTER INSERT ON "announcements"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('announcements');
--> statement-breakpoint
CREATE TRIGGER announcements_sync_heads_update AFTER UPDATE ON "announcements"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('announcements');
--> statement-breakpoint
CREATE TRIGGER payments_sync_heads_insert AFTER INSERT ON "payments"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('payments');
--> statement-breakpoint
CREATE TRIGGER payments_sync_heads_update AFTER UPDATE ON "payments"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sync_note_entity_heads('payments');
--> statement-breakpoint
INSERT INTO sync_entity_heads (building_id, heads)
  SELECT building_id, jsonb_object_agg(entity, head) FROM (
    SELECT building_id, 'apartments' AS entity, max(sync_version) AS head FROM "apartments" GROUP BY building_id
    UNION ALL SELECT building_id, 'memberships' AS entity, max(sync_version) AS head FROM "memberships" GROUP BY building_id
    UNION ALL SELECT building_id, 'maintenance_requests' AS entity, max(sync_version) AS head FROM "maintenance_requests" GROUP BY building_id
    UNION ALL SELECT building_id, 'request_comments' AS entity, max(sync_version) AS head FROM "request_comments" GROUP BY building_id
    UNION ALL SELECT building_id, 'announcements' AS entity, max(sync_version) AS head FROM "announcements" GROUP BY building_id
    UNION ALL SELECT building_id, 'payments' AS entity, max(sync_version) AS head FROM "payments" GROUP BY building_id
  ) t WHERE head IS NOT NULL GROUP BY building_id
ON CONFLICT (building_id) DO NOTHING;
