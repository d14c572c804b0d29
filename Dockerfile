# The kit image: `kit` for the steps of a Kubernetes run's pod (`kit pod-step materialize|package`,
# see spec/kubernetes.md) and for any other use of the CLI in a container.
#
#   docker build -t REGISTRY/modelkit/kit:0.1.0 .
#   docker push REGISTRY/modelkit/kit:0.1.0
#   kit run REF --backend kubernetes --kit-image REGISTRY/modelkit/kit:0.1.0 …   (or KIT_KUBERNETES_IMAGE)
#
# Not built by this repository's tests: there is no container runtime on the machines they run on.

FROM node:20-bookworm-slim AS build
# zstd-napi compiles a native binding at install time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/kit
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages ./packages
RUN npm ci \
 && npm run build \
 && npm prune --omit=dev \
 && rm -rf packages/*/src packages/*/test packages/*/tsconfig*.json packages/*/*.tsbuildinfo

FROM node:20-bookworm-slim
WORKDIR /opt/kit
COPY --from=build /opt/kit /opt/kit
RUN chmod 755 /opt/kit/packages/cli/dist/main.js \
 && ln -s /opt/kit/packages/cli/dist/main.js /usr/local/bin/kit \
 && kit version
# A pod step runs as whatever user the pod says; its kit home and work are on the pod's volume.
ENV KITOPS_HOME=/tmp/kitops
ENTRYPOINT ["kit"]
CMD ["--help"]
