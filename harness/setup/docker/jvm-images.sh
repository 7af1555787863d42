#!/usr/bin/env bash
# Local images for the JVM systems (issue 13), built from Debian's own packages when official
# images cannot be pulled (as on this host, where no container registry is reachable):
#
#   gbench/debian:bookworm-<release date>-<key>   debootstrap --variant=minbase of bookworm from the
#                                                 mirror in the host's apt sources, `docker import`ed
#   gbench/jre17:<key>                            that base + Debian's openjdk-17-jre-headless
#   gbench/<system>:<version>-<key>               each system's recipe on top of the JRE layer:
#                                                 harness/systems/<system>/image/recipe.env (a system
#                                                 ships its recipe in its own folder; this script
#                                                 names none): its version (a pom property), its
#                                                 jars and where they go, built with jars/Dockerfile;
#                                                 also tagged gbench/<system>:<version>-local, the
#                                                 name its plugin runs (ImageSpec.local)
#
# <key>: the first 12 hex digits of sha256 over the inputs (suite, variant, mirror, the mirror's
# Release file, this script, the recipe and its files): the same inputs give the same tag, and an
# image whose tag exists is not rebuilt (a warm run: the Release file is fetched, nothing built).
# Every image carries labels gbench.image=shared, gbench.inputs.sha256 and, for the base,
# gbench.packages.sha256 (the digest of its dpkg package list, also printed).
#
# Usage: jvm-images.sh                 build what is missing, print the time each step took
#        jvm-images.sh --check         exit 0 if every image is present, 1 listing the missing
#        jvm-images.sh --tags          print the tags this host's inputs give (one a line), build nothing
# Needs root, debootstrap (apt), a Docker engine and the Debian mirror; the systems' jars come from
# .cache/<system> (make setup), as the netns provider runs them.
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$PWD
log() { printf '[jvm-images] %s\n' "$*"; }
die() { printf '[jvm-images] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

SUITE=bookworm
VARIANT=minbase
MIRROR=${GBENCH_DEBIAN_MIRROR:-$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit }
                                        /^deb / && $3 == "bookworm" { print $2; exit }' \
                                   /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)}
[ -n "$MIRROR" ] || die "no Debian mirror in /etc/apt/sources.list*: set GBENCH_DEBIAN_MIRROR"
MIRROR=${MIRROR%/}

command -v docker >/dev/null 2>&1 || die "no docker CLI (apt-get install docker.io)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker engine answers (start dockerd)"

# Ctrl-C / SIGTERM: stop at the next step and remove what is half made (the EXIT trap); debootstrap
# itself ignores SIGINT, so an interrupted base build ends when its debootstrap does (under 30 s here).
trap 'exit 130' INT TERM
release=$(mktemp); trap 'rm -f "$release"' EXIT
curl -fsS --max-time 30 "$MIRROR/dists/$SUITE/Release" -o "$release" || die "cannot fetch $MIRROR/dists/$SUITE/Release"
RELEASE_DATE=$(sed -n 's/^Date: //p' "$release" | head -n1)
[ -n "$RELEASE_DATE" ] || die "$MIRROR/dists/$SUITE/Release has no Date line"
DATE_TAG=$(date -u -d "$RELEASE_DATE" +%Y%m%d)

sha() { sha256sum | cut -c1-12; }
BASE_KEY=$( { printf '%s\n' "$SUITE" "$VARIANT" "$MIRROR"; cat "$release"; } | sha)
BASE_TAG=gbench/debian:$SUITE-$DATE_TAG-$BASE_KEY
JRE_RECIPE=$ROOT/harness/setup/docker/jre17/Dockerfile
JRE_KEY=$( { echo "$BASE_TAG"; cat "$JRE_RECIPE"; } | sha)
JRE_TAG=gbench/jre17:$JRE_KEY

JARS_RECIPE=$ROOT/harness/setup/docker/jars/Dockerfile
recipes=()
for r in "$ROOT"/harness/systems/*/image/recipe.env; do [ -f "$r" ] && recipes+=("$r"); done

field() {  # recipe key -> its value (KEY=value lines; nothing is executed)
  sed -n "s/^$2=//p" "$1" | head -n1
}
recipe_name() { basename "$(dirname "$(dirname "$1")")"; }
recipe_version() {
  local pom prop v
  pom=$ROOT/$(field "$1" POM); prop=$(field "$1" VERSION_PROPERTY)
  v=$(sed -n "s:.*<$prop>\([^<]*\)</$prop>.*:\1:p" "$pom" | head -n1)
  [ -n "$v" ] || die "$1: no <$prop> in $pom"
  echo "$v"
}
recipe_lib() { local v; v=$(recipe_version "$1"); echo "$ROOT/$(field "$1" LIB | sed "s/@VERSION@/$v/")"; }
system_tag() {  # recipe -> the tag its inputs give: the JRE tag, the recipe, the shared Dockerfile, the jars
  local r=$1 lib key
  lib=$(recipe_lib "$r")
  [ -d "$lib" ] || die "$lib missing: run make setup (it fetches $(recipe_name "$r")'s jars)"
  key=$( { echo "$JRE_TAG"; cat "$r" "$JARS_RECIPE"; find "$lib" -maxdepth 1 -name '*.jar' -print0 | LC_ALL=C sort -z \
           | xargs -0 -r sha256sum | cut -d" " -f1; } | sha)
  echo "gbench/$(recipe_name "$r"):$(recipe_version "$r")-$key"
}

local_alias() { echo "gbench/$(recipe_name "$1"):$(recipe_version "$1")-local"; }

if [ "${1:-}" = "--tags" ] || [ "${1:-}" = "--check" ]; then
  tags=("$BASE_TAG" "$JRE_TAG")
  for r in "${recipes[@]}"; do tags+=("$(system_tag "$r")"); done
  if [ "$1" = "--tags" ]; then printf '%s\n' "${tags[@]}"; exit 0; fi
  missing=()
  for t in "${tags[@]}"; do docker image inspect "$t" >/dev/null 2>&1 || missing+=("$t"); done
  for r in "${recipes[@]}"; do  # the plugin's name must point at the image of these inputs
    [ "$(docker image inspect -f '{{.Id}}' "$(local_alias "$r")" 2>/dev/null)" = \
      "$(docker image inspect -f '{{.Id}}' "$(system_tag "$r")" 2>/dev/null)" ] || missing+=("$(local_alias "$r")")
  done
  [ ${#missing[@]} -eq 0 ] && { log "all present: ${tags[*]}"; exit 0; }
  log "missing: ${missing[*]}"; exit 1
fi

[ "$(id -u)" = 0 ] || die "debootstrap needs root"
exists() { docker image inspect "$1" >/dev/null 2>&1; }
drop_rootfs() {  # a debootstrap interrupted mid-way may leave /proc, /sys (or /dev binds) mounted inside
  [ -n "${1:-}" ] && [ -d "$1" ] || return 0
  awk -v r="$1/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf --one-file-system "$1"
}
size() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }
LABELS=(--label gbench.image=shared --label org.opencontainers.image.source=guarantees-bench)

t=$(now)
if exists "$BASE_TAG"; then
  log "$BASE_TAG is up to date"
else
  command -v debootstrap >/dev/null 2>&1 || die "no debootstrap (apt-get install debootstrap)"
  rootfs=$(mktemp -d -p "${TMPDIR:-/tmp}" gbench-rootfs.XXXXXX)
  trap 'rm -f "$release" "$rootfs.log"; drop_rootfs "$rootfs"' EXIT
  log "debootstrap --variant=$VARIANT $SUITE from $MIRROR"
  debootstrap --variant="$VARIANT" "$SUITE" "$rootfs" "$MIRROR" > "$rootfs.log" 2>&1 || {
    tail -n 5 "$rootfs.log" >&2; rm -f "$rootfs.log"; die "debootstrap failed"; }
  rm -f "$rootfs.log"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  # shellcheck disable=SC2016 # dpkg-query's own format, not the shell's
  packages=$(chroot "$rootfs" dpkg-query -W -f '${Package}=${Version}\n' | sort | sha256sum | cut -c1-12)
  tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change "LABEL gbench.image=shared gbench.inputs.sha256=$BASE_KEY gbench.packages.sha256=$packages gbench.debian.release=$DATE_TAG" \
    --change 'CMD ["/bin/bash"]' - "$BASE_TAG" >/dev/null
  drop_rootfs "$rootfs"
  log "imported $BASE_TAG (packages sha256 $packages)"
fi
log "base image: $(since "$t") s, $(size "$BASE_TAG")"

t=$(now)
if exists "$JRE_TAG"; then
  log "$JRE_TAG is up to date"
else
  out=$(docker build -q --network host --build-arg "BASE=$BASE_TAG" "${LABELS[@]}" --label "gbench.inputs.sha256=$JRE_KEY" \
    -t "$JRE_TAG" -f "$JRE_RECIPE" "$(dirname "$JRE_RECIPE")" 2>&1) || { echo "$out" | tail -n 5 >&2; die "docker build of $JRE_TAG failed"; }
  log "built $JRE_TAG: $(docker run --rm --network none "$JRE_TAG" java -version 2>&1 | grep -m1 version)"
fi
log "jre17 image: $(since "$t") s, $(size "$JRE_TAG")"

for r in "${recipes[@]}"; do
  t=$(now)
  tag=$(system_tag "$r")
  if exists "$tag"; then
    log "$tag is up to date"
  else
    ctx=$(mktemp -d); mkdir "$ctx/lib"
    cp "$(recipe_lib "$r")"/*.jar "$ctx/lib/"
    out=$(docker build -q --build-arg "JRE=$JRE_TAG" --build-arg "DEST=$(field "$r" DEST)" \
          --build-arg "USER=$(field "$r" USER)" "${LABELS[@]}" --label "gbench.$(recipe_name "$r").version=$(recipe_version "$r")" \
          -t "$tag" -f "$JARS_RECIPE" "$ctx" 2>&1) || { rm -rf "$ctx"; echo "$out" | tail -n 5 >&2; die "docker build of $tag failed"; }
    rm -rf "$ctx"
    log "built $tag"
  fi
  # the name the system's plugin runs (ImageSpec.local): always the image of this host's inputs
  docker tag "$tag" "$(local_alias "$r")"
  log "$(recipe_name "$r") image: $(since "$t") s, $(size "$tag")"
done
log "done"
