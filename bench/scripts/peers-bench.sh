#!/usr/bin/env bash
# Runs the shared three-engine harness (../shared/peers-bench, see its README) with Sagaflow's
# adapter as this checkout keeps it (bench/peers/): the harness's own adapter was written against
# the untyped DSL of before #18, and no longer compiles. The harness is copied to PEERS_WORK
# (default $TMPDIR/peers-bench, as the harness does itself), the adapter laid over the copy, and the
# copy run, so that the harness does not copy itself over the adapter again. Every knob of the
# harness (ENGINES, N, WARMUP, SEQ, CONC, SAGAFLOW_JAR, ...) passes through.
#
#   bench/scripts/peers-bench.sh                                             # cold, all three
#   ENGINES="dbos sagaflow" N=20000 WARMUP=20000 SEQ=1000 bench/scripts/peers-bench.sh   # warm
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HARNESS=${HARNESS:-$ROOT/../shared/peers-bench}
export PEERS_WORK=${PEERS_WORK:-${TMPDIR:-/tmp}/peers-bench}
[ -f "$HARNESS/run.sh" ] || { echo "no harness at $HARNESS (set HARNESS)" >&2; exit 1; }
mkdir -p "$PEERS_WORK"
(cd "$HARNESS" && tar cf - --exclude=./target --exclude=./results .) | (cd "$PEERS_WORK" && tar xf -)
chmod -R u+w "$PEERS_WORK"
cp "$ROOT/bench/peers/bench/sagaflow/SagaflowEngine.java" \
  "$PEERS_WORK/src/sagaflow/java/bench/sagaflow/SagaflowEngine.java"
[ -n "${SAGAFLOW_JAR:-}" ] && export SAGAFLOW_JAR=$(realpath -m "$SAGAFLOW_JAR")
cd "$ROOT"
SAGAFLOW_SRC=${SAGAFLOW_SRC:-$ROOT} exec bash "$PEERS_WORK/run.sh" "$@"
