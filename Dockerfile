# syntax=docker/dockerfile:1
#
# sesinbound container image.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t sesinbound:dev .
#   docker run --rm -p 127.0.0.1:2525:2525 -p 127.0.0.1:4566:4566 -v sesinbound-data:/data sesinbound:dev
#
# The binary is static (CGO_ENABLED=0), so the final stage only needs CA
# certificates (for --s3-endpoint aws / --kms-endpoint aws) and an HTTP client
# for the health check. Alpine is used instead of distroless for that client:
# busybox wget lets HEALTHCHECK (here and in docker-compose.yml) ask
# GET /_sesinbound/health for real, and sesinbound has no health subcommand of
# its own. A distroless image would have had to say HEALTHCHECK NONE.

# ---- build ------------------------------------------------------------------
# Built on the build machine's platform and cross-compiled, so multi-platform
# builds (docker buildx --platform linux/amd64,linux/arm64) need no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build

WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .

# VERSION ends up in `sesinbound version`, --version, the startup line and
# GET /_sesinbound/health.
ARG VERSION=dev
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/sesinbound ./cmd/sesinbound

# ---- run --------------------------------------------------------------------
FROM alpine:3.24

# An unprivileged user with a fixed numeric ID (Kubernetes' runAsNonRoot can
# check a number, not a name), and /data owned by it so that a new named
# volume mounted there starts out writable.
RUN apk add --no-cache ca-certificates \
 && addgroup -S -g 65532 sesinbound \
 && adduser -S -D -H -u 65532 -G sesinbound -h /data -s /sbin/nologin sesinbound \
 && mkdir -p /data \
 && chown 65532:65532 /data

COPY --from=build /out/sesinbound /usr/local/bin/sesinbound

USER 65532:65532
WORKDIR /data
VOLUME /data

# 2525: SMTP. 4566: the embedded S3 + KMS endpoint and /_sesinbound/.
EXPOSE 2525 4566

# Checks the default --aws-addr port; change it too if you move that port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:4566/_sesinbound/health || exit 1

# A container must listen on all its interfaces to be reachable through a
# published port. sesinbound logs a warning when it does ("listening beyond
# loopback"); publish the ports on 127.0.0.1 (-p 127.0.0.1:2525:2525) to keep
# them off the network. Other settings go in SESINBOUND_* variables, e.g.
# SESINBOUND_CONFIG=/etc/sesinbound/rules.yaml, so this command can stay.
# `docker exec <container> sesinbound decrypt s3://...` runs the other
# commands next to the server.
ENTRYPOINT ["sesinbound"]
CMD ["--smtp-addr", "0.0.0.0:2525", "--aws-addr", "0.0.0.0:4566", "--data-dir", "/data"]
