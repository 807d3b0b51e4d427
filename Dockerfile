# syntax=docker/dockerfile:1
# The runner image of the shipwright-cache Tekton Tasks: Node.js 22, the CLI compiled to
# JavaScript (no TypeScript at step start), production dependencies only, user 65532.
#
#   docker build -t shipwright-cache:dev .            # or: podman build / buildah bud
#   docker run --rm shipwright-cache:dev --help
#
# Three stages:
#   build  npm ci (with dev dependencies, for tsc) and npm run build -> /src/dist
#   deps   npm ci --omit=dev: the production node_modules, without type declarations and maps
#   final  Debian slim + the node binary of the build stage + package.json, dist/, node_modules/
# The offline cluster runs the same recipe without a registry: images/runner/ (images/build.sh).
#
# Base images are build arguments so a mirror or a digest can be substituted:
#   docker build --build-arg NODE_IMAGE=docker.io/library/node:22.23.3-bookworm-slim@sha256:<digest> ...
# Releases pin both by digest. The node version matches hack/ensure-node.sh (SWC_NODE_VERSION).
ARG NODE_IMAGE=docker.io/library/node:22.23.3-bookworm-slim
ARG RUNTIME_IMAGE=docker.io/library/debian:12.12-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY scripts ./scripts
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
# No production dependency has an install script; type declarations and source maps are for
# editors and debuggers, not for node (about 40 MB).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete \
 && rm -f node_modules/.package-lock.json

FROM ${RUNTIME_IMAGE}
# bash: zx (a dependency of the CLI) runs commands with bash. Debian slim has it, and
# libstdc++6 / libgcc-s1, which the node binary links against.
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
# package.json carries "type": "module": dist/ is ES modules.
COPY --from=build /src/package.json ./package.json
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --home-dir /home/nonroot --create-home --shell /bin/bash nonroot \
 && node /app/dist/scripts/cli.js --help >/dev/null
ENV NODE_ENV=production \
    HOME=/tmp
USER 65532:65532
LABEL org.opencontainers.image.title="shipwright-cache" \
      org.opencontainers.image.description="Runner of the shipwright-cache Tekton Tasks: persistent build caches for Shipwright builds" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["node", "/app/dist/scripts/cli.js"]
CMD ["--help"]
