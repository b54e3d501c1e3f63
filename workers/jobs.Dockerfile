# The Bun job service (workers/jobs.ts): consumes QStash callbacks for the outbox topics whose
# handlers need Node APIs. Bun runs the TypeScript sources as they are: no build step.
#
#   docker build -f workers/jobs.Dockerfile -t horizon-jobs .
#   docker run -p 8080:8080 -e DATABASE_URL=postgres://… \
#     -e QSTASH_CURRENT_SIGNING_KEY=… -e QSTASH_NEXT_SIGNING_KEY=… \
#     -e QSTASH_CONSUMER_URL=https://jobs.example.com horizon-jobs
#
# Migrations are applied by the deploy (`bun workers/migrate.ts`, drizzle/ is in the image for
# that), never by each instance on start.
ARG BUN_VERSION=1

FROM oven/bun:${BUN_VERSION} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; Bun reads package-lock.json (no bun.lock is kept in the repo).
RUN bun install --production --ignore-scripts

FROM oven/bun:${BUN_VERSION}-slim
WORKDIR /app
ENV NODE_ENV=production PORT=8080
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY drizzle ./drizzle
USER bun
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD ["bun", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["bun", "workers/jobs.ts"]
