# Multi-stage: build with dev dependencies, run with production ones only, as a non-root user.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 KAFKA_AUTOSTART_LOCAL=false
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
# docs/asyncapi.yaml is served at /docs/events (the controller reads it next to dist/).
COPY --chown=node:node docs ./docs
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# The V8 heap is capped as `npm start` caps it: the live heap is ~80 MB under load, and without a
# cap V8 lets garbage pile up to several hundred MB before collecting it (docs/performance.md).
# The young generation is sized on its own (32 MB semi-spaces; Node 20's default is 16): most of
# what the app allocates dies within a request or a consumer run, and with 16 MB the scavenger
# took 15 % of its time under load (11 % with 32). Under Node 24 the explicit size also kept RSS
# at 274-279 MB where its default reached 332-338 (docs/performance.md, sixth day).
# In NODE_OPTIONS, not on the command line, so `-e NODE_OPTIONS=--max-old-space-size=<MB>` can raise it
# for a bigger catalogue or container (flags on the command line would win over NODE_OPTIONS).
ENV NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=32"
CMD ["node", "dist/main"]
