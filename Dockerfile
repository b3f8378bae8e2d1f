# syntax=docker/dockerfile:1
# Kiln in a container: a cgo build (SQLite) on Debian, run on the same Debian release's slim
# image so the binary finds the glibc it was linked against.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first, so code changes don't re-download modules.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/kiln . \
 && install -d -m 0700 /out/data

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 kiln \
 && useradd --system --uid 10001 --gid kiln --home-dir /data --no-create-home --shell /usr/sbin/nologin kiln
COPY --from=build /out/kiln /usr/local/bin/kiln
COPY --from=build --chown=kiln:kiln /out/data /data
USER kiln:kiln
WORKDIR /data
# Inside the container Kiln must listen on every interface; publish the port to choose who reaches it.
ENV KILN_ADDR=0.0.0.0:8080 \
    KILN_DB=/data/kiln.db \
    KILN_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/kiln"]
