# syntax=docker/dockerfile:1
# The manager image: a static Go binary on distroless, running as non-root.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t IMG .
# test/gitops/dockerfile_test.go runs this file's `go build` command outside
# Docker, so keep the build a single RUN instruction.

FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /workspace
ENV GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

# Dependencies first, so they are cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/

RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/twelvefactor/twelvefactor-operator/internal/manager.Version=${VERSION}" -o manager ./cmd/manager

FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.source="https://github.com/twelvefactor/twelvefactor-operator" \
      org.opencontainers.image.title="twelvefactor-operator" \
      org.opencontainers.image.description="Runs applications the twelve-factor way"
WORKDIR /
COPY --from=builder /workspace/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
