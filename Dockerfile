# One image for every linkpack command: extender, agent, device-plugin, controller, simulate,
# inspect, explain. Build: docker build -t ghcr.io/linkpack/linkpack:0.1.0 .
# The image name and tag live in deploy/image/kustomization.yaml (a kustomize component; the
# Helm chart's values agree with it; test/ux/image.test.ts checks).

# --- build: compile TypeScript (dev dependencies only here) ---
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" would compile before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && cp src/kubelet/*.proto dist/src/kubelet/

# --- deps: the production dependency set only ---
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- run: no build tools, no npm at run time, non-root ---
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# dist/src holds the compiled code and the kubelet .proto files the gRPC clients load at run time.
COPY --from=build /src/dist/src ./dist/src
COPY package.json ./
# uid/gid 1000 is the image's "node" user; numeric so that runAsNonRoot can verify it.
# The agent and device plugin override it (they need the kubelet's root-owned sockets).
USER 1000:1000
# Exec form: no shell is started, signals reach node directly.
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["--help"]
