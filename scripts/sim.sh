#!/usr/bin/env bash
# The deterministic simulator's runs (token-sim, docs/simulation.md), as the test command's
# `sim` stage runs them:
#
#   fixed   the same seeds every time: 3 replicas seeds 1-4000, 5 replicas 1-1000,
#           7 replicas 1-500 (about a minute on 2 cores), and with online reconfigurations
#           (--reconfigure) 3 replicas 1-500, 5 replicas 1-300, 7 replicas 1-200 (about 15 s).
#           A failure here is caused by the change under test, never by luck.
#   fresh   1000 seeds (3 replicas), 200 (5 replicas) and 300 (5 replicas, --reconfigure) from
#           a first seed drawn now, printed
#           before the run, so a failure it finds can be replayed exactly:
#             build/dev/bin/token-sim --seeds 1 --first-seed S [--replicas R] --history h.jsonl
#
#   scripts/sim.sh                  # both
#   scripts/sim.sh fixed            # one of them
#   TOKENSTORE_SIM_FIRST_SEED=S scripts/sim.sh fresh   # the fresh run from a given seed
#
# Needs build/dev/bin/token-sim (scripts/test.sh's dev stage builds it; otherwise
# `cmake --preset dev && cmake --build --preset dev --target token-sim`). Exit: 0 clean,
# 1 a violation (the failing seed's report is printed), 3 the checker's budget ran out.
set -euo pipefail
cd "$(dirname "$0")/.."

sim=${TOKENSTORE_BIN_DIR:-build/dev/bin}/token-sim
if [[ ! -x "$sim" ]]; then
  echo "sim.sh: $sim not built (cmake --preset dev && cmake --build --preset dev --target token-sim)" >&2
  exit 2
fi

what=${1:-both}
case "$what" in
  fixed | fresh | both) ;;
  *) echo "usage: scripts/sim.sh [fixed|fresh|both]" >&2; exit 2 ;;
esac

# run SEEDS FIRST REPLICAS [FLAGS...]: one token-sim run, its JSON totals on stdout.
run() {
  echo "\$ token-sim --seeds $1 --first-seed $2 --replicas $3 ${*:4} --json"
  "$sim" --seeds "$1" --first-seed "$2" --replicas "$3" "${@:4}" --json
}

if [[ "$what" != fresh ]]; then
  run 4000 1 3
  run 1000 1 5
  run 500 1 7
  run 500 1 3 --reconfigure
  run 300 1 5 --reconfigure
  run 200 1 7 --reconfigure
fi
if [[ "$what" != fixed ]]; then
  # 40 random bits: far from the fixed range, small enough to type.
  first=${TOKENSTORE_SIM_FIRST_SEED:-$(( ($(od -An -N5 -tu8 /dev/urandom | tr -d ' ') % 1099511627775) + 1 ))}
  echo "sim.sh: fresh seeds from $first (replay one: $sim --seeds 1 --first-seed SEED --history h.jsonl)"
  run 1000 "$first" 3
  run 200 "$first" 5
  run 300 "$first" 5 --reconfigure
fi
