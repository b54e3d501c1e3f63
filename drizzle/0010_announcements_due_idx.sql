CREATE INDEX "announcements_due_idx" ON "announcements" USING btree ("published_at") WHERE "announcements"."deleted_at" is null and "announcements"."updated_at" < "announcements"."published_at";
