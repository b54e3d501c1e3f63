// Generated from CHANGELOG.md by `npm run api:snapshot` (scripts/api/changelog.ts). Do not edit.
import type { ChangelogRelease } from "./changelog-types";

export const CHANGELOG: ChangelogRelease[] = [
  {
    version: "Unreleased",
    date: null,
    changes: {
      Added: [
        "v1: `GET /api/v1/meta/changelog` serves this changelog as JSON.",
        "Deploys: staging and production environments, a gated gradual Worker rollout with automatic rollback, containers for the standalone host and the job service, and a Redis realtime bus for several standalone replicas.",
        "v1: push devices (`/me/devices`, Web Push, FCM, APNs) and the Web Push VAPID public key (`GET /api/v1/push/vapid-public-key`).",
        "v1: notifications: the inbox (`GET /me/notifications`; `PUT /me/notifications/{id}/read`, `POST /me/notifications/read-all`), preferences per type and channel, quiet hours, and platform-admin template overrides per locale; English and Hebrew texts.",
        "v1: localized problem `title`s (`Accept-Language` or the user's saved locale; `code` unchanged), with `Content-Language`.",
        "v1: webhooks for buildings and the platform: endpoints with one-time secrets and rotation, Standard Webhooks signatures, deliveries and attempts, replay, ping, health, the event catalogue (`GET /api/v1/webhooks/event-types` and the document's `webhooks` section).",
        "v1: files: presigned direct uploads (single and multipart with resume), completion, signed downloads of originals and thumbnails, and `attachments` on maintenance requests, comments and announcements.",
        "v1: the `Horizon-Protocol` request header; a client older than the oldest served protocol gets `426 UPGRADE_REQUIRED`.",
        "v1: the room protocol's `file.processed` event.",
      ],
    },
  },
  {
    version: "0.1.0",
    date: "2026-12-07",
    changes: {
      Added: [
        "v1: sign-up, sign-in, token refresh and sign-out; the current user's profile.",
        "v1: buildings, apartments and memberships with manager and resident roles.",
        "v1: maintenance requests with comments, announcements (scheduled and pinned) and payments.",
        "v1: the audit trail with a hash chain, offline sync (push, pull, conflicts) and realtime room tokens with server-sent events.",
        "v1: API version usage and deprecation metadata; outbox statistics, dead letters and replay.",
      ],
    },
  },
];
