DROP TABLE "webhook_deliveries" CASCADE;--> statement-breakpoint
DROP TABLE "webhooks" CASCADE;