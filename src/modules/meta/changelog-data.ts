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
