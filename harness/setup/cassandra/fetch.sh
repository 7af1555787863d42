#!/usr/bin/env bash
# Fetch Apache Cassandra's server jar and its runtime dependencies from Maven Central into
# <repo>/.cache/cassandra/<version>/lib/ (what harness/systems/cassandra runs from).
#
#   bash harness/setup/cassandra/fetch.sh            # the version pinned in pom.xml (5.0.9)
#   bash harness/setup/cassandra/fetch.sh 5.0.8      # another 5.0.x
#   CASSANDRA_VERSION=5.0.8 bash harness/setup/cassandra/fetch.sh
#
# Idempotent: a lib dir with its .complete stamp is left alone (prints "present", exits 0).
# The copy is made in a temporary dir next to the destination and renamed into place only
# when Maven succeeded and the server jar is there, so an interrupted fetch never leaves a
# half-filled lib dir that looks complete. Maven's own artifact cache stays in ~/.m2.
#
# Needs: Java 17 (`java`) and Maven (`mvn`); Debian: apt-get install openjdk-17-jdk-headless maven.
# Exit codes: 0 ok/present, 2 missing tool, 3 Maven failed (Central unreachable or artifact missing).
# GBENCH_MVN_OPTS adds Maven options (a mirror's --settings, or -o to work offline).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
POM=$HERE/pom.xml

log() { printf '[cassandra-fetch] %s\n' "$*"; }
die() { local rc=$1; shift; printf '[cassandra-fetch] ERROR: %s\n' "$*" >&2; exit "$rc"; }

pinned=$(sed -n 's:.*<cassandra.version>\(.*\)</cassandra.version>.*:\1:p' "$POM" | head -n 1)
VERSION=${1:-${CASSANDRA_VERSION:-$pinned}}
case "$VERSION" in
  ''|*[!0-9A-Za-z.-]*) die 2 "bad version '$VERSION'";;
esac
DEST=$ROOT/.cache/cassandra/$VERSION
LIB=$DEST/lib
STAMP=$LIB/.complete

if [ -f "$STAMP" ] && [ -f "$LIB/cassandra-all-$VERSION.jar" ]; then
  log "Cassandra $VERSION present in $LIB ($(grep -c '\.jar$' "$STAMP") jars); nothing to do"
  exit 0
fi

command -v mvn >/dev/null 2>&1 || die 2 "mvn not found (Debian: apt-get install maven)"
command -v java >/dev/null 2>&1 || die 2 "java not found (Debian: apt-get install openjdk-17-jdk-headless)"

mkdir -p "$ROOT/.cache/cassandra"
TMP=$(mktemp -d "$ROOT/.cache/cassandra/.fetch-$VERSION.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

log "resolving org.apache.cassandra:cassandra-all:$VERSION and its runtime dependencies from Maven Central"
t0=$(date +%s.%N)
# GBENCH_MVN_OPTS: extra Maven options (e.g. a mirror's settings file; tests use -o, offline).
# shellcheck disable=SC2086
if ! mvn -B -q ${GBENCH_MVN_OPTS:-} -f "$POM" -Dcassandra.version="$VERSION" \
       dependency:copy-dependencies -DoutputDirectory="$TMP/lib" >"$TMP/mvn.log" 2>&1; then
  tail -n 30 "$TMP/mvn.log" >&2
  die 3 "Maven could not resolve cassandra-all $VERSION (is Maven Central reachable? see the output above)"
fi
t1=$(date +%s.%N)
[ -f "$TMP/lib/cassandra-all-$VERSION.jar" ] || die 3 "Maven succeeded but cassandra-all-$VERSION.jar is missing"

secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
{
  echo "# org.apache.cassandra:cassandra-all:$VERSION runtime classpath, fetched by $0"
  echo "# fetched_at=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$secs"
  (cd "$TMP/lib" && ls -1 -- *.jar | LC_ALL=C sort)
} >"$TMP/lib/.complete"

rm -rf "$LIB"
mkdir -p "$DEST"
mv "$TMP/lib" "$LIB"
log "Cassandra $VERSION: $(ls -1 "$LIB"/*.jar | wc -l) jars, $(du -sh "$LIB" | cut -f1), in ${secs}s -> $LIB"
