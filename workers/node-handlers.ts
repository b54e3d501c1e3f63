/**
 * Outbox handlers that need Node APIs (sharp, web-push, firebase-admin, node:http2, node:net,
 * node:dns). Imported by workers/node-services.ts, so the standalone host, the job service and the
 * tests register them; the edge Worker never imports this file (its bundle stays free of Node-only
 * libraries) and QStash routes these topics' families to the job service (QSTASH_JOBS_URL).
 * Adding one is one import line here.
 */
// Push senders: notifications.push and notifications.sync-poke (web-push, firebase-admin, node:http2).
import "../src/modules/push/handlers";
// Webhook delivery: webhooks.deliver (node:dns resolution, a socket pinned to the checked address).
import "../src/modules/webhooks/deliver";
// File processing: files.uploaded (magic bytes, clamd over node:net, sharp renditions).
import "../src/modules/files/node-handlers";
