# syntax=docker/dockerfile:1
#
# The hybridtrain image that `hybridtrain sweep k8s` runs (docs/sweeps.md):
#
#   docker build -t REGISTRY/hybridtrain:v1 .                     # CPU: static binary, empty base
#   docker build --target cuda -t REGISTRY/hybridtrain:v1-cuda .  # CUDA build, for sweep k8s --gpu
#   docker build --build-arg VERSION=v1.2.3 ...                   # what `hybridtrain version` says
#
# Both run as user 65532 in /work, where the Job mounts its volume. Not built in CI: the
# development machines have no container engine.

ARG GO_VERSION=1.26.8

# The module and the source, once for both builds.
FROM golang:${GO_VERSION}-bookworm AS source
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ENV LDFLAGS="-s -w -X main.version=${VERSION}"
# /tmp and /work for the empty base image (`hybridtrain test` writes under /tmp).
RUN mkdir -p /rootfs/tmp /rootfs/work && chmod 1777 /rootfs/tmp && chown 65532:65532 /rootfs/work

# The default build: no cgo, so the binary needs nothing from the image.
FROM source AS build-cpu
RUN CGO_ENABLED=0 go build -trimpath -ldflags="${LDFLAGS}" -o /rootfs/usr/local/bin/hybridtrain ./cmd/hybridtrain

# The CUDA build needs cgo, cuda.h and a libcuda to link against (docs/cuda.md); the
# kernels are PTX already in the source, so no CUDA compiler runs here.
FROM source AS build-cuda
RUN scripts/install-cuda-build-deps.sh
RUN CGO_ENABLED=1 go build -tags cuda -trimpath -ldflags="${LDFLAGS}" -o /rootfs/usr/local/bin/hybridtrain ./cmd/hybridtrain

# At run time the CUDA binary needs glibc 2.34 or newer and the driver's libcuda.so.1, which
# the NVIDIA container toolkit mounts from the node; without a GPU it exits 1 at start.
FROM debian:bookworm-slim AS cuda
COPY --from=build-cuda /rootfs/ /
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["hybridtrain"]

# The default target (last): the static binary on an empty base.
FROM scratch AS cpu
COPY --from=build-cpu /rootfs/ /
ENV PATH=/usr/local/bin
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["hybridtrain"]
