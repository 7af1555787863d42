#!/usr/bin/env bash
# Local images for the docker provider, built offline when official images cannot be pulled
# (as on this host, where no registry is reachable):
#
#   gbench/etcd:<version>-local       FROM scratch + .cache/bin/etcd (the static binary set-up
#                                     builds from harness/systems/etcd/gomod/server: the same
#                                     bits the netns provider runs)
#   gbench/toxiproxy:<version>-local  FROM scratch + toxiproxy-server built from Go modules
#                                     (harness/setup/docker/toxiproxy/go.sum)
#   gbench/pause:1-local              FROM scratch + a 10-line Go program that holds each node's
#                                     network namespace (harness/setup/docker/pause)
#
# Images are made with `docker import` from a one-binary root filesystem: no Dockerfile
# builder (BuildKit/buildx may be absent), no base image, no network. Each image carries
# the binary's sha256 as label gbench.binary.sha256 and is rebuilt only when it changes.
# The images are shared by every run (label gbench.image=shared); runs never tag images.
#
# Usage: images.sh            build what is missing or stale, print the time each one took
#        images.sh --check    exit 0 if every image is present, 1 (listing the missing) if not
#        GBENCH_IMAGES_REBUILD=1 images.sh   also rebuild the Go binaries it builds (a cold-build timing)
# Cassandra has no local image: the harness keeps Cassandra on the netns provider here.
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$PWD
BIN=$ROOT/.cache/bin
HERE=$ROOT/harness/setup/docker
export PATH=$PATH:/usr/local/go/bin
log() { printf '[images] %s\n' "$*"; }
die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "no docker CLI (apt-get install docker.io)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || \
  die "no Docker engine answers (start dockerd, or use the netns provider)"

[ -x "$BIN/etcd" ] || die "$BIN/etcd missing: run harness/setup/setup.sh first (it builds etcd from Go modules)"
ETCD_VERSION=$("$BIN/etcd" --version | sed -n 's/^etcd Version: //p')
TOXI_VERSION=$(awk '$1 == "github.com/Shopify/toxiproxy/v2" { print $2 }
                    $1 == "require" && $2 == "github.com/Shopify/toxiproxy/v2" { print $3 }' \
               "$HERE/toxiproxy/go.mod" | sed 's/^v//' | head -n1)
[ -n "$TOXI_VERSION" ] || die "cannot read the toxiproxy version from $HERE/toxiproxy/go.mod"
ETCD_TAG=gbench/etcd:${ETCD_VERSION}-local
TOXI_TAG=gbench/toxiproxy:${TOXI_VERSION}-local
PAUSE_TAG=gbench/pause:1-local

if [ "${1:-}" = "--check" ]; then
  missing=()
  for t in "$ETCD_TAG" "$TOXI_TAG" "$PAUSE_TAG"; do
    docker image inspect "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  [ ${#missing[@]} -eq 0 ] && { log "all present: $ETCD_TAG $TOXI_TAG $PAUSE_TAG"; exit 0; }
  log "missing: ${missing[*]}"; exit 1
fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

go_build() {  # dir output [go build args...]
  local dir=$1 out=$2; shift 2
  command -v go >/dev/null 2>&1 || die "no Go toolchain: cannot build $(basename "$out")"
  if [ -z "${GBENCH_IMAGES_REBUILD:-}" ] && [ -x "$out" ] && [ "$out" -nt "$dir/go.mod" ] && \
     { [ ! -f "$dir/go.sum" ] || [ "$out" -nt "$dir/go.sum" ]; }; then
    return 0
  fi
  log "building $(basename "$out") from Go modules ($dir)"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -o "$out.tmp" "$@" && mv "$out.tmp" "$out")
}

import_image() {  # tag binary path-in-image entrypoint-json [extra --change ...]
  local tag=$1 bin=$2 dest=$3 entry=$4; shift 4
  local sha; sha=$(sha256sum "$bin" | cut -d' ' -f1)
  if [ "$(docker image inspect -f '{{ index .Config.Labels "gbench.binary.sha256" }}' "$tag" 2>/dev/null)" = "$sha" ]; then
    log "$tag is up to date (binary sha256 ${sha:0:12})"
    return 0
  fi
  local root rc=0; root=$(mktemp -d)
  install -D -m 0755 "$bin" "$root$dest"
  install -d -m 1777 "$root/tmp"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -c . | docker import \
    --change "ENTRYPOINT $entry" \
    --change "LABEL gbench.image=shared gbench.binary.sha256=$sha org.opencontainers.image.source=guarantees-bench" \
    "$@" - "$tag" >/dev/null || rc=$?
  rm -rf "$root"
  [ "$rc" = 0 ] || die "docker import of $tag failed (exit $rc)"
  log "imported $tag ($(du -h "$bin" | cut -f1) binary, sha256 ${sha:0:12})"
}

t=$(now)
import_image "$ETCD_TAG" "$BIN/etcd" /usr/local/bin/etcd '["/usr/local/bin/etcd"]' \
  --change 'EXPOSE 2379 2380'
log "etcd image: $(since "$t") s"

t=$(now)
go_build "$HERE/toxiproxy" "$BIN/toxiproxy-server" \
  -ldflags "-s -w -X github.com/Shopify/toxiproxy/v2.Version=$TOXI_VERSION" github.com/Shopify/toxiproxy/v2/cmd/server
import_image "$TOXI_TAG" "$BIN/toxiproxy-server" /toxiproxy '["/toxiproxy"]' \
  --change 'CMD ["-host=0.0.0.0"]' --change 'EXPOSE 8474'
log "toxiproxy image: $(since "$t") s"

t=$(now)
go_build "$HERE/pause" "$BIN/gbench-pause" -ldflags "-s -w" .
import_image "$PAUSE_TAG" "$BIN/gbench-pause" /pause '["/pause"]'
log "pause image: $(since "$t") s"
log "done: $ETCD_TAG $TOXI_TAG $PAUSE_TAG"
