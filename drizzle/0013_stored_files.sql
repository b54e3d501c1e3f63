CREATE TABLE "stored_files" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"building_id" uuid NOT NULL,
	"uploaded_by" uuid NOT NULL,
	"purpose" text NOT NULL,
	"content_type" text NOT NULL,
	"size" bigint NOT NULL,
	"sha256" text,
	"original_name" text DEFAULT 'file' NOT NULL,
	"quarantine_key" text NOT NULL,
	"final_key" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"rejection_reason" text,
	"width" integer,
	"height" integer,
	"variants" jsonb,
	"multipart_upload_id" text,
	"part_size" integer,
	"attached_type" text,
	"attached_id" uuid,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"uploaded_at" timestamp (3) with time zone,
	"processed_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp (3) with time zone
);
--> statement-breakpoint
ALTER TABLE "stored_files" ADD CONSTRAINT "stored_files_building_id_buildings_id_fk" FOREIGN KEY ("building_id") REFERENCES "public"."buildings"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stored_files" ADD CONSTRAINT "stored_files_uploaded_by_users_id_fk" FOREIGN KEY ("uploaded_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "stored_files_quarantine_key_uq" ON "stored_files" USING btree ("quarantine_key");--> statement-breakpoint
CREATE INDEX "stored_files_building_attached_idx" ON "stored_files" USING btree ("building_id","attached_type","attached_id");--> statement-breakpoint
CREATE INDEX "stored_files_status_expires_idx" ON "stored_files" USING btree ("status","expires_at");--> statement-breakpoint
CREATE INDEX "stored_files_uploaded_by_idx" ON "stored_files" USING btree ("uploaded_by");