/** Every table of every module, for drizzle-kit and the typed `db.query` API. */
export * from "../modules/analytics/schema";
export * from "../modules/announcements/schema";
export * from "../modules/audit/schema";
export * from "../modules/buildings/schema";
export * from "../modules/files/tables";
export * from "../modules/i18n/schema";
export * from "../modules/identity/schema";
export * from "../modules/maintenance/schema";
export * from "../modules/notifications/schema";
export * from "../modules/notifications/tables";
export * from "../modules/outbox/schema";
export * from "../modules/payments/schema";
export * from "../modules/push/schema";
export * from "../modules/security/schema";
export * from "../modules/sync/schema";
export * from "../modules/webhooks/tables";
