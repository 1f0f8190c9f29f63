# PowerView ingest: `powerview serve` (and `powerview migrate`, `powerview ingest`).
#
#   docker build -t powerview .
#   docker run --rm powerview --help
#
# The production stack (ops/deploy/compose.yaml) builds this image and runs it
# twice: a one-shot `migrate`, then `serve`.

# Pinned; override with --build-arg NODE_IMAGE=… to move to another Node 20 patch.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---------------------------------------------------------------- build
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the package's `prepare` would run tsc before the sources are here
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# only src/ is in the build context's TypeScript inputs (.dockerignore leaves
# test/, bench/ and fixtures/ out), so dist/ holds the product alone
RUN npx tsc -p .

# ---------------------------------------------------------------- production dependencies
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
# The data root is where the official SFTPGo image keeps its users' homes
# (/srv/sftpgo/data/<username>): with the shared volume mounted at the same path
# in both containers, the paths in SFTPGo's hook calls are valid here as they are.
ENV NODE_ENV=production \
    POWERVIEW_DATA_ROOT=/srv/sftpgo/data \
    POWERVIEW_HTTP_ADDR=0.0.0.0:9464 \
    POWERVIEW_STATE_DIR=/var/lib/powerview/state \
    POWERVIEW_REPORT_DIR=/var/lib/powerview/reports \
    POWERVIEW_GRAFANA_DIR=/var/lib/powerview/grafana
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=build /src/dist/src ./dist/src
# `powerview migrate` reads the SQL at run time from src/postgres/migrations
# (relative to dist/src/postgres/), not from dist/
COPY src/postgres/migrations ./src/postgres/migrations
# The image's `node` user is uid/gid 1000, the uid the official SFTPGo image
# runs as: both sides own the files of the shared data volume. The mount
# points exist here, owned by that user, so a new named volume mounted on
# them starts out writable.
RUN mkdir -p /srv/sftpgo/data /var/lib/powerview/state /var/lib/powerview/reports /var/lib/powerview/grafana \
 && chown -R node:node /srv/sftpgo /var/lib/powerview
USER node
EXPOSE 9464
# liveness only (/readyz also checks the stores); the port follows POWERVIEW_HTTP_ADDR
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const a=process.env.POWERVIEW_HTTP_ADDR||'0.0.0.0:9464';fetch('http://127.0.0.1:'+a.slice(a.lastIndexOf(':')+1)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/powerview.js"]
CMD ["serve"]
