# syntax=docker/dockerfile:1
#
# Nexus gateway image: a static binary on distroless, running as a non-root
# user. Build from the repository root:
#
#   docker build -t nexus .
#   docker run -p 8000:8000 -v "$PWD/nexus.toml:/etc/nexus/nexus.toml:ro" nexus
#
# The `go build` line and the HEALTHCHECK command are run outside Docker in
# CI by deploy/check-dockerfile.sh (same flags), so keep each on one line.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags "-s -w" -o /nexus ./cmd/nexus

# distroless/static: CA certificates, tzdata and /etc/passwd, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /nexus /nexus
COPY deploy/docker/nexus.toml /etc/nexus/nexus.toml
# 65532 is distroless's "nonroot"; numeric, so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8000
# Healthy while the gateway answers and its backends are healthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/nexus","health","--fail-unhealthy","--url","http://127.0.0.1:8000"]
ENTRYPOINT ["/nexus"]
CMD ["serve","--config","/etc/nexus/nexus.toml"]
