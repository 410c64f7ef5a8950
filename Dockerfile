# Multi-stage: build with dev dependencies, run with production ones only, as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 KAFKA_AUTOSTART_LOCAL=false
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
# docs/asyncapi.yaml is served at /docs/events (the controller reads it next to dist/).
COPY --chown=node:node docs ./docs
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:3000/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# The V8 heap is capped as `npm start` caps it: the live heap is ~80 MB under load, and without a
# cap V8 lets garbage pile up to several hundred MB before collecting it (docs/performance.md).
# Override with NODE_OPTIONS=--max-old-space-size=<MB> for a bigger catalogue or container.
CMD ["node", "--max-old-space-size=256", "dist/main"]
