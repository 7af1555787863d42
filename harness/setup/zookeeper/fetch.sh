#!/usr/bin/env bash
# Fetch Apache ZooKeeper's server jar and what it needs at run time from Maven Central into
# <repo>/.cache/zookeeper/<version>/lib/ (what harness/systems/zookeeper runs from), with
# the dependency set of pom.xml (why it is more than one artifact: see the comment there).
#
#   bash harness/setup/zookeeper/fetch.sh        # the version pinned in pom.xml (3.9.5)
#
# Idempotent and fast when done: a lib dir whose .complete stamp names this pom's checksum is
# left alone. Maven copies into a temporary dir beside the destination, renamed into place
# only once the server jar is there, so an interrupted fetch never looks complete.
# Needs java and mvn (Debian: openjdk-17-jdk-headless maven); Maven's cache stays in ~/.m2.
# Exit codes: 0 ok/present, 2 missing tool, 3 Maven failed. GBENCH_MVN_OPTS adds Maven options.
set -euo pipefail
say() { printf '[zookeeper-fetch] %s\n' "$*"; }
fail() { local rc=$1; shift; printf '[zookeeper-fetch] ERROR: %s\n' "$*" >&2; exit "$rc"; }
POM=$(cd "$(dirname "$0")" && pwd)/pom.xml
ROOT=$(cd "$(dirname "$POM")/../../.." && pwd)

VERSION=$(sed -n 's:.*<zookeeper.version>\(.*\)</zookeeper.version>.*:\1:p' "$POM" | head -n 1)
[ -n "$VERSION" ] || fail 2 "no <zookeeper.version> in $POM"
LIB=$ROOT/.cache/zookeeper/$VERSION/lib
POM_SUM=$(sha256sum "$POM" | cut -d' ' -f1)
if [ -f "$LIB/zookeeper-$VERSION.jar" ] && grep -qx "# pom_sha256=$POM_SUM" "$LIB/.complete" 2>/dev/null; then
  say "ZooKeeper $VERSION present in $LIB ($(grep -c '\.jar$' "$LIB/.complete") jars); nothing to do"
  exit 0
fi
for tool in mvn java; do command -v "$tool" >/dev/null 2>&1 || fail 2 "$tool not found (Debian: apt-get install openjdk-17-jdk-headless maven)"; done

mkdir -p "$(dirname "$LIB")"
STAGE=$(mktemp -d "$(dirname "$LIB")/.fetch.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
say "resolving org.apache.zookeeper:zookeeper:$VERSION and its run-time jars from Maven Central"
start=$SECONDS
# shellcheck disable=SC2086
mvn -B -q ${GBENCH_MVN_OPTS:-} -f "$POM" dependency:copy-dependencies -DoutputDirectory="$STAGE/lib" \
  >"$STAGE/mvn.log" 2>&1 || { tail -n 30 "$STAGE/mvn.log" >&2; fail 3 "Maven could not resolve zookeeper $VERSION (is Maven Central reachable?)"; }
[ -f "$STAGE/lib/zookeeper-$VERSION.jar" ] || fail 3 "Maven succeeded but zookeeper-$VERSION.jar is missing"
{
  echo "# org.apache.zookeeper:zookeeper:$VERSION server classpath, fetched by harness/setup/zookeeper/fetch.sh"
  echo "# pom_sha256=$POM_SUM"
  echo "# fetched_at=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$((SECONDS - start))"
  (cd "$STAGE/lib" && ls -1 -- *.jar | LC_ALL=C sort)
} >"$STAGE/lib/.complete"
rm -rf "$LIB"
mv "$STAGE/lib" "$LIB"
say "ZooKeeper $VERSION: $(grep -c '\.jar$' "$LIB/.complete") jars, $(du -sh "$LIB" | cut -f1) -> $LIB"
