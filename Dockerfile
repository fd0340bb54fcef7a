# syntax=docker/dockerfile:1
# Fieldscope: the GraphQL server, run from TypeScript sources with tsx (a runtime dependency).
#   docker build -t fieldscope .
#   docker compose up            (with Qdrant; see docs/running-at-scale.md)

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: install production dependencies, compiling better-sqlite3 from source ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Toolchain for native modules (better-sqlite3 12 compiles when its prebuilt binary cannot be fetched).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# onnxruntime-node's postinstall would fetch CUDA binaries from outside the npm registry; its CPU
# binding ships inside the package. The image's npm (10, Node 20) ignores package.json
# `allowScripts`, so the package's own switch turns the download off (an environment variable:
# a project .npmrc key makes every npm 11 command warn "Unknown project config").
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
# Fail the build, not the first request, when a native module did not build.
RUN node -e "const D=require('better-sqlite3'); const db=new D(':memory:'); require('sqlite-vec').load(db); console.log('sqlite-vec', db.prepare('select vec_version() v').get().v); db.close()" \
 && node -e "require('onnxruntime-node'); require('sharp'); console.log('onnxruntime-node and sharp load')"

# ---- runtime: no compilers, not root ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json tsconfig.json ./
COPY --chown=node:node bin ./bin
COPY --chown=node:node src ./src
COPY --chown=node:node console ./console
COPY --chown=node:node schema ./schema
COPY --chown=node:node models ./models
COPY --chown=node:node demo ./demo
COPY --chown=node:node moderation ./moderation
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 4000
# /health answers while the process serves; /ready also needs the model and the store.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself is PID 1's child of nothing else: SIGTERM reaches the server's graceful shutdown.
CMD ["node", "--import", "tsx", "src/main.ts"]
