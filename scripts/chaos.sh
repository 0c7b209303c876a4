#!/usr/bin/env bash
# A fault run: real token-replica processes (each in its own network namespace when run as
# root), concurrent clients recording a history, a nemesis injecting crash-stop marks,
# kill -9, SIGSTOP, partitions, wiped and restored data dirs, then a linearizability check.
#
#   scripts/chaos.sh [--duration SECONDS] [--history FILE] [--seed N] [--unsafe-bug NAME]
#                    [token-chaos options...]
#
# --unsafe-bug read-local|skip-write-back|skip-rebuild is passed to every token-replica.
# Builds token-replica and token-chaos with the `dev` preset (PRESET=... for another) when
# needed; TOKENSTORE_BIN_DIR=DIR uses the binaries in DIR instead and builds nothing (ctest
# does this). Exit code: token-chaos's (0 linearizable and exercised enough, 1 violation
# or a wrong returned hash, 2 setup error or too little exercised or a fault kind that cannot
# run here, 3 unknown: the checker's budget ran out; docs/chaos.md).
# Ctrl-C stops the run cleanly: faults healed, replicas stopped, namespaces removed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help)
      sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    --duration|--history|--seed|--unsafe-bug)
      if [[ $# -lt 2 ]]; then echo "chaos.sh: $1 needs a value" >&2; exit 2; fi
      ARGS+=("$1" "$2"); shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done

if [[ -n "${TOKENSTORE_BIN_DIR:-}" ]]; then
  BIN="$TOKENSTORE_BIN_DIR"
else
  PRESET="${PRESET:-dev}"
  BIN="$ROOT/build/$PRESET/bin"
  cd "$ROOT"
  if [[ ! -f "build/$PRESET/build.ninja" ]]; then
    cmake --preset "$PRESET" >/dev/null || { echo "chaos.sh: cmake --preset $PRESET failed" >&2; exit 2; }
  fi
  cmake --build --preset "$PRESET" -j"$(nproc)" --target token-replica token-chaos >/dev/null ||
    { echo "chaos.sh: building token-replica and token-chaos failed" >&2; exit 2; }
fi
for b in token-replica token-chaos; do
  if [[ ! -x "$BIN/$b" ]]; then echo "chaos.sh: $BIN/$b is missing" >&2; exit 2; fi
done

CHAOS_PID=""
# token-chaos removes its namespaces itself; this catches what a SIGKILL of it leaves.
cleanup() {
  if [[ -n "$CHAOS_PID" ]] && command -v ip >/dev/null 2>&1 && [[ -d /run/netns ]]; then
    for ns in /run/netns/tchaos-"$CHAOS_PID"-*; do
      [[ -e "$ns" ]] && ip netns del "$(basename "$ns")" 2>/dev/null
    done
  fi
  return 0
}
on_signal() {
  [[ -n "$CHAOS_PID" ]] && kill -TERM "$CHAOS_PID" 2>/dev/null
  [[ -n "$CHAOS_PID" ]] && wait "$CHAOS_PID" 2>/dev/null
  cleanup
  exit 130
}
trap on_signal INT TERM

"$BIN/token-chaos" --replica-bin "$BIN/token-replica" "${ARGS[@]}" &
CHAOS_PID=$!
wait "$CHAOS_PID"
rc=$?
cleanup
exit "$rc"
