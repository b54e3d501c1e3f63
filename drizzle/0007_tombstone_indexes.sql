-- Partial indexes over each synced table's tombstones (deleted_at is not null): the hourly sync
-- retention reads and deletes tombstones through them instead of scanning every live row, and
-- live rows, not being in them, cost nothing extra to write.
CREATE INDEX "announcements_tombstones_idx" ON "announcements" USING btree ("building_id","sync_version","deleted_at") WHERE "announcements"."deleted_at" is not null;--> statement-breakpoint
CREATE INDEX "apartments_tombstones_idx" ON "apartments" USING btree ("building_id","sync_version","deleted_at") WHERE "apartments"."deleted_at" is not null;--> statement-breakpoint
CREATE INDEX "memberships_tombstones_idx" ON "memberships" USING btree ("building_id","sync_version","deleted_at") WHERE "memberships"."deleted_at" is not null;--> statement-breakpoint
CREATE INDEX "maintenance_requests_tombstones_idx" ON "maintenance_requests" USING btree ("building_id","sync_version","deleted_at") WHERE "maintenance_requests"."deleted_at" is not null;--> statement-breakpoint
CREATE INDEX "request_comments_tombstones_idx" ON "request_comments" USING btree ("building_id","sync_version","deleted_at") WHERE "request_comments"."deleted_at" is not null;--> statement-breakpoint
CREATE INDEX "payments_tombstones_idx" ON "payments" USING btree ("building_id","sync_version","deleted_at") WHERE "payments"."deleted_at" is not null;