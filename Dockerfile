# Warden: build with the dev toolchain, run with production dependencies only.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY schema-dsl ./schema-dsl
COPY src ./src
COPY bench ./bench
COPY proto ./proto
RUN npm run build

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    WARDEN_ADDRESS=0.0.0.0:50051 \
    WARDEN_METRICS_ADDRESS=0.0.0.0:9090 \
    WARDEN_LOG_FORMAT=json \
    WARDEN_DATASTORE=pglite:/var/lib/warden
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY proto ./proto
RUN mkdir -p /var/lib/warden && chown node:node /var/lib/warden
USER node
VOLUME /var/lib/warden
# gRPC; metrics and probes (/metrics, /healthz, /readyz)
EXPOSE 50051 9090
# Ready, not merely alive: the datastore answers and is migrated (see README, Operations).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p = (process.env.WARDEN_METRICS_ADDRESS || ':9090').split(':').pop(); fetch('http://127.0.0.1:' + p + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["serve"]
