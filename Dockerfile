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
    WARDEN_DATASTORE=pglite:/var/lib/warden
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY proto ./proto
RUN mkdir -p /var/lib/warden && chown node:node /var/lib/warden
USER node
VOLUME /var/lib/warden
EXPOSE 50051
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["serve"]
