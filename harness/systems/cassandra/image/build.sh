#!/usr/bin/env bash
# Cassandra's local image (issue 13), called by harness/setup/docker/jvm-images.sh:
#   build.sh --version   the Cassandra version (pinned in harness/setup/cassandra/pom.xml)
#   build.sh --inputs    the files the image is made of (their digests make its tag)
#   JRE_TAG=... TAG=... build.sh   build TAG: the JRE 17 layer + Cassandra's jars from
#                        .cache/cassandra/<version>/lib (make setup copies them from Maven Central:
#                        the same jars the netns provider runs) in /opt/cassandra/lib.
# The image holds no configuration: the plugin writes cassandra.yaml and the JVM options per node
# and starts `java` with them, as under netns. On hosts that can pull, the official cassandra:5.0
# image is the alternative (GBENCH_DOCKER_PULL=1).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
VERSION=$(sed -n 's:.*<cassandra\.version>\([^<]*\)</cassandra\.version>.*:\1:p' "$ROOT/harness/setup/cassandra/pom.xml" | head -n1)
[ -n "$VERSION" ] || { echo "no <cassandra.version> in harness/setup/cassandra/pom.xml" >&2; exit 1; }
LIB=$ROOT/.cache/cassandra/$VERSION/lib
case "${1:-}" in
  --version) echo "$VERSION"; exit 0 ;;
  --inputs) [ -d "$LIB" ] || { echo "$LIB missing: run make setup" >&2; exit 1; }
            printf '%s\n' "$HERE/Dockerfile" "$LIB"/*.jar; exit 0 ;;
esac
: "${JRE_TAG:?} ${TAG:?}"
[ -d "$LIB" ] || { echo "$LIB missing: run make setup" >&2; exit 1; }
ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT
mkdir "$ctx/lib" && cp "$LIB"/*.jar "$ctx/lib/" && cp "$HERE/Dockerfile" "$ctx/"
docker build -q --build-arg "JRE=$JRE_TAG" --label gbench.image=shared --label "gbench.cassandra.version=$VERSION" \
  -t "$TAG" "$ctx" >/dev/null
