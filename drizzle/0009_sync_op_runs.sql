-- Op records in runs (ADR 0002): an op id of the SDK's form `<stream>:<seq>` is recorded in a run of
-- consecutive seqs of its stream, one row for a device's whole push instead of one per op; any
-- other op id is a run of one at seq -1. The exclusion constraint keeps a user's runs of one stream
-- from overlapping, so an op is recorded at most once, whichever batches carried it.
CREATE EXTENSION IF NOT EXISTS btree_gist;
--> statement-breakpoint
CREATE TABLE "sync_op_runs" (
	"user_id" uuid NOT NULL,
	"stream" text NOT NULL,
	"first_seq" bigint NOT NULL,
	"last_seq" bigint NOT NULL,
	"device_id" text NOT NULL,
	"results" json NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sync_op_runs_seqs" CHECK (first_seq <= last_seq),
	CONSTRAINT "sync_op_runs_no_overlap" EXCLUDE USING gist (
		user_id WITH =, stream WITH =, int8range(first_seq, last_seq, '[]') WITH &&)
);
--> statement-breakpoint
CREATE INDEX "sync_op_runs_created_brin" ON "sync_op_runs" USING brin ("created_at");
--> statement-breakpoint
-- Each op record kept so far becomes a run of one, split by the same rule as claims.ts (opPlace).
INSERT INTO "sync_op_runs" (user_id, stream, first_seq, last_seq, device_id, results, created_at)
SELECT p.user_id, coalesce(m[1], p.op_id), coalesce(m[2]::bigint, -1), coalesce(m[2]::bigint, -1),
  p.device_id, json_build_object('d', json_build_array(p.result)), p.created_at
FROM "sync_processed_ops" p
  LEFT JOIN LATERAL regexp_match(p.op_id, '^(.+):(0|[1-9][0-9]{0,14})$') m ON true;
--> statement-breakpoint
DROP TABLE "sync_processed_ops" CASCADE;
