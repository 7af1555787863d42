# guarantees-bench: every target does its own set-up on a fresh machine (see harness/setup/setup.sh).
SHELL := /bin/bash
PY    := .venv/bin/python
SETUP_STAMP := .cache/setup.stamp

.PHONY: setup bench bench-ci lint-ci bench-checkers bench-session-checkers bench-profile bench-docker bench-cluster-startup bench-jvm-images bench-signals test test-unit diagrams clean-cache cleanup docker-images

setup: $(SETUP_STAMP)

$(SETUP_STAMP): pyproject.toml harness/setup/setup.sh harness/setup/cassandra/pom.xml harness/setup/zookeeper/pom.xml harness/systems/etcd/gomod/server/go.sum harness/systems/etcd/gomod/benchmark/go.sum harness/setup/docker/images.sh harness/setup/docker/toxiproxy/go.sum harness/setup/actionlint/go.sum
	bash harness/setup/setup.sh
	@mkdir -p .cache && touch $(SETUP_STAMP)

## make bench: the default measurement suite on a real 5-node cluster (writes results/<run-id>/), then the diagrams from it
bench: setup
	.venv/bin/gbench bench
	.venv/bin/gbench diagrams

## make bench-ci: the scheduled benchmark job's work, run here exactly as .github/workflows/bench.yml runs it:
## REPEATS runs of BENCH_SUITES (default: every system's suite) on fresh clusters as one batch (one point per
## series in the history), then change detection over RESULTS into CHANGES_OUT (exit status in
## CHANGES_OUT/exit-status: 0 no change, 10 change detected), then the diagrams regenerated from the reference
## runs plus the batch, newest runs first, into DIAGRAMS_INTO/diagrams (the batch's runs copied there), with
## CHANGES_OUT/diagram-moves.md: which figures moved beyond their series' noise (the pull request description).
REPEATS ?= 3
BATCH_ID ?= $(shell date -u +%Y%m%dT%H%M%SZ)
RESULTS ?= results
CHANGES_OUT ?= $(RESULTS)/changes
DIAGRAMS_INTO ?= results
BENCH_SUITES ?=
bench-ci: setup
	@for i in $$(seq 1 $(REPEATS)); do \
	  echo "[bench-ci] batch $(BATCH_ID): run $$i of $(REPEATS)"; \
	  GBENCH_BATCH_ID=$(BATCH_ID) GBENCH_BATCH_INDEX=$$i GBENCH_BATCH_OF=$(REPEATS) \
	    .venv/bin/gbench bench --results $(RESULTS) $(foreach s,$(BENCH_SUITES),--suite $(s)) || exit 1; \
	done
	@mkdir -p $(CHANGES_OUT); rc=0; .venv/bin/gbench changes --results $(RESULTS) --out $(CHANGES_OUT) || rc=$$?; \
	  echo $$rc > $(CHANGES_OUT)/exit-status; [ $$rc -eq 0 ] || [ $$rc -eq 10 ] || exit $$rc
	.venv/bin/gbench diagrams-refresh --batch $(BATCH_ID) --from $(RESULTS) --into $(DIAGRAMS_INTO) --moves $(CHANGES_OUT)

## make lint-ci: actionlint (with shellcheck on every run: script) over .github/workflows
lint-ci: setup
	@command -v shellcheck >/dev/null || { echo "lint-ci: no shellcheck (make setup installs it with apt as root)" >&2; exit 2; }
	.cache/bin/actionlint -config-file .github/actionlint.yaml -shellcheck "$$(command -v shellcheck)"

## make diagrams: regenerate every diagram (results/diagrams/) from results/, no cluster started
diagrams: setup
	.venv/bin/gbench diagrams

## make test: unit tests plus real-cluster tests (root needed for the cluster tests)
test: setup
	$(PY) -m pytest -q -rs $(PYTEST_ARGS)

test-unit: setup
	$(PY) -m pytest -q -m "not cluster" $(PYTEST_ARGS)

## remove whatever a crashed run left behind (processes, namespaces, bridge, rules, temp dirs)
cleanup: setup
	.venv/bin/gbench cleanup

## local images for --provider docker (etcd, Toxiproxy, pause; the JVM systems: Debian base by debootstrap, JRE 17, Cassandra), built offline; needs a Docker engine
docker-images: setup
	bash harness/setup/docker/images.sh
	bash harness/setup/docker/jvm-images.sh

## a system's 5-node cluster under docker and netns: time to ready and memory per node, 3 times each (writes results/benchmarks/<SYSTEM>-startup.json; root, a Docker engine and the images)
STARTUP_SYSTEM ?= cassandra
bench-cluster-startup: setup
	$(PY) -m harness.benchmarks.cluster_startup --system $(STARTUP_SYSTEM) --out results/benchmarks/$(STARTUP_SYSTEM)-startup.json

## the JVM systems' local images (Debian base by debootstrap, JRE 17, each system's): cold and warm build times and sizes (writes results/benchmarks/jvm-images.json; root, a Docker engine)
bench-jvm-images: setup
	$(PY) -m harness.benchmarks.jvm_images --out results/benchmarks/jvm-images.json --repeats 3

clean-cache:
	rm -rf .cache .venv

## the checker's speed on ../shared/testdata beside Porcupine (writes results/benchmarks/checker-speed.json)
bench-checkers: setup
	$(PY) -m harness.benchmarks.checker_speed --out results/benchmarks/checker-speed.json

## the session-guarantee checkers' time on generated 50k/100k/200k-operation histories (writes results/benchmarks/session-checker-speed.json)
bench-session-checkers: setup
	$(PY) -m harness.benchmarks.session_checker_speed --out results/benchmarks/session-checker-speed.json

## the docker path's start-up: local image build (cold and warm) and 5-node etcd under Docker, direct and through Toxiproxy (writes results/benchmarks/docker-startup.json; needs a Docker engine)
bench-docker: setup
	$(PY) -m harness.benchmarks.docker_startup --out results/benchmarks/docker-startup.json

## Ctrl-C / SIGTERM at cluster start, warm-up, load, nemesis and final reads of 5-node etcd and Cassandra runs under two busy loops: seconds to exit and what was left (writes results/benchmarks/signal-exit.json; root; SIGNAL_ARGS="--trials 3 --systems etcd" for a shorter run)
bench-signals: setup
	$(PY) -m harness.benchmarks.signal_exit --out results/benchmarks/signal-exit.json $(SIGNAL_ARGS)

## where the load generator's CPU goes per operation (3-node cluster; writes results/benchmarks/load-generator-profile.json)
bench-profile: setup
	$(PY) -m harness.benchmarks.load_generator_profile --out results/benchmarks/load-generator-profile.json
