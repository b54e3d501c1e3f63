CREATE TABLE "sync_conflicts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"building_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"device_id" text NOT NULL,
	"op_id" text NOT NULL,
	"entity" text NOT NULL,
	"row_id" uuid NOT NULL,
	"field" text,
	"kind" text NOT NULL,
	"rule" text NOT NULL,
	"incoming_value" jsonb,
	"incoming_hlc" text NOT NULL,
	"current_value" jsonb,
	"current_hlc" text,
	"current_user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sync_processed_ops" (
	"user_id" uuid NOT NULL,
	"op_id" text NOT NULL,
	"device_id" text NOT NULL,
	"result" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sync_processed_ops_user_id_op_id_pk" PRIMARY KEY("user_id","op_id")
);
--> statement-breakpoint
CREATE TABLE "sync_row_clocks" (
	"entity" text NOT NULL,
	"row_id" uuid NOT NULL,
	"building_id" uuid NOT NULL,
	"version" bigint NOT NULL,
	"clocks" jsonb NOT NULL,
	CONSTRAINT "sync_row_clocks_entity_row_id_pk" PRIMARY KEY("entity","row_id")
);
--> statement-breakpoint
CREATE TABLE "sync_tombstone_floors" (
	"building_id" uuid PRIMARY KEY NOT NULL,
	"floor_version" bigint NOT NULL,
	"purged_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sync_state" ALTER COLUMN "last_sync_at" DROP NOT NULL;--> statement-breakpoint
CREATE INDEX "sync_conflicts_user_created_idx" ON "sync_conflicts" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "sync_processed_ops_created_idx" ON "sync_processed_ops" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "sync_row_clocks_building_idx" ON "sync_row_clocks" USING btree ("building_id");