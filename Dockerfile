# Horizon on Bun, for your own machines: one image, two targets.
#   standalone  the whole API (`npm start`): REST, rooms over WebSocket, SSE, the in-process outbox
#               dispatcher with every job handler. Run one, or several behind a proxy with
#               REALTIME_BUS=redis (deploy/compose/compose.yaml runs two).
#   jobs        the job service (workers/jobs.ts) that consumes QStash callbacks for the edge
#               deployment's Node-only handlers; aligned with workers/jobs.Dockerfile.
# Bun runs the TypeScript sources as they are: no build step.
#
#   docker build --target standalone -t horizon .
#   docker build --target jobs -t horizon-jobs .
#
# Both run as the unprivileged `bun` user and answer a HEALTHCHECK on /health. Migrations: the
# standalone host applies pending ones on start; compose runs `bun workers/migrate.ts` once first
# so replicas never race; the edge deploy migrates from CI.
ARG BUN_VERSION=1

FROM oven/bun:${BUN_VERSION} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; Bun reads package-lock.json (no bun.lock is kept in the repo).
RUN bun install --production --ignore-scripts

FROM oven/bun:${BUN_VERSION}-slim AS base
WORKDIR /app
ENV NODE_ENV=production PORT=8080
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json CHANGELOG.md ./
COPY src ./src
COPY workers ./workers
COPY drizzle ./drizzle
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bun", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

FROM base AS jobs
USER bun
CMD ["bun", "workers/jobs.ts"]

FROM base AS standalone
# DATA_DIR holds PGlite's data when DATABASE_URL is unset, and filesystem storage's objects.
ENV DATA_DIR=/data
RUN mkdir -p /data && chown bun:bun /data
VOLUME ["/data"]
USER bun
# The same flags as `npm start` (package.json): large header limit so oversized requests get a
# problem document, not Bun's empty 431.
CMD ["bun", "--max-http-header-size=1048576", "workers/standalone.ts"]
