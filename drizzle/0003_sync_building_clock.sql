ALTER TABLE "sync_tombstone_floors" ALTER COLUMN "floor_version" SET DEFAULT 0;--> statement-breakpoint
ALTER TABLE "sync_tombstone_floors" ADD COLUMN "max_hlc" text;