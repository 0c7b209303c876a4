#!/usr/bin/env bash
# The model checks of the register protocol (model/register.pml) and of its online
# reconfiguration (model/reconfig.pml, runs rc-* and four bugs; docs/model.md), as the test
# command's `model` stage runs them. Installs spin (Debian package `spin`) when it is missing.
#
#   clean   the model as designed, exhaustively, in the bounds docs/model.md lists: no
#           assertion may fail and no state may be a deadlock (LIVE: every operation completes;
#           in reconfig.pml the reconfiguration completes)
#   bugs    each deliberate bug of replica/unsafe_bug.h (skip-write-back, read-local,
#           skip-rebuild, reuse-timestamp) and the rebuild as coded before its fix (REBUILD_AT_ONCE,
#           docs/model.md "The rebuild race"), and each broken variant of the reconfiguration
#           (model/reconfig.pml: skip-transfer, no-epoch-in-stamp, seal-minority, sealed-serves):
#           the checker must print a counterexample
#
#   scripts/model.sh            # both
#   scripts/model.sh clean      # one of them
#   scripts/model.sh ops-3      # runs by name (the first column of the summary)
#
# Everything is built under a temporary directory (MODEL_WORK_DIR to keep it). Exit: 0 when
# every run gave what it must, 1 when a clean run found an error or ran out of memory or time,
# or a bug run found nothing; 2 usage or tool errors.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! command -v spin >/dev/null; then
  echo "model.sh: installing spin"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "model.sh: need root or sudo to install spin" >&2; exit 2; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends spin gcc
fi

work=${MODEL_WORK_DIR:-}
if [[ -z "$work" ]]; then
  work=$(mktemp -d /tmp/tokenstore-model.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

# name  expect(clean|bug)  cc-optimization  [model file]  spin defines
# (the model file is model/register.pml unless the fourth word names another one, *.pml)
runs=(
  "ops-3       clean -O2 -DN=3 -DWRITES=2 -DREADS=2 -DCRASHES=0 -DMARKS=0"
  "marks-3r    clean -O0 -DN=3 -DWRITES=1 -DREADS=2 -DCRASHES=0 -DMARKS=1"
  "marks-3w    clean -O0 -DN=3 -DWRITES=2 -DREADS=1 -DCRASHES=0 -DMARKS=1"
  "crash-3     clean -O2 -DN=3 -DWRITES=2 -DREADS=1 -DCRASHES=1 -DMARKS=0"
  "ops-5       clean -O0 -DN=5 -DWRITES=1 -DREADS=1 -DCRASHES=0 -DMARKS=1"
  "live-3      clean -O2 -DN=3 -DWRITES=2 -DREADS=1 -DCRASHES=1 -DMARKS=1 -DLIVE"
  "skip-write-back bug -O0 -DN=3 -DWRITES=2 -DREADS=2 -DCRASHES=0 -DMARKS=0 -DBUG_SKIP_WRITE_BACK"
  "read-local  bug   -O0 -DN=3 -DWRITES=2 -DREADS=2 -DCRASHES=0 -DMARKS=0 -DBUG_READ_LOCAL"
  "skip-rebuild bug  -O0 -DN=3 -DWRITES=2 -DREADS=1 -DCRASHES=1 -DMARKS=0 -DBUG_SKIP_REBUILD"
  "reuse-timestamp bug -O0 -DN=3 -DWRITES=2 -DREADS=1 -DCRASHES=1 -DMARKS=0 -DBUG_REUSE_TIMESTAMP"
  "rebuild-at-once bug -O0 -DN=3 -DWRITES=2 -DREADS=1 -DCRASHES=1 -DMARKS=0 -DREBUILD_AT_ONCE"
  "rc-move     clean -O1 reconfig.pml -DMOVE -DWRITES=2 -DREADS=1 -DOLDWRITES=1"
  "rc-replace  clean -O0 reconfig.pml -DREPLACE -DWRITES=1 -DREADS=1"
  "rc-replace-2w clean -O0 reconfig.pml -DREPLACE -DWRITES=2 -DREADS=0"
  "rc-grow     clean -O0 reconfig.pml -DGROW -DWRITES=1 -DREADS=0"
  "rc-live     clean -O0 reconfig.pml -DREPLACE -DWRITES=1 -DREADS=1 -DCRASHES=1 -DLIVE"
  "skip-transfer bug -O0 reconfig.pml -DREPLACE -DWRITES=1 -DREADS=1 -DBUG_SKIP_TRANSFER"
  "no-epoch-in-stamp bug -O0 reconfig.pml -DMOVE -DWRITES=2 -DREADS=1 -DOLDWRITES=1 -DBUG_NO_EPOCH_IN_STAMP"
  "seal-minority bug -O0 reconfig.pml -DREPLACE -DWRITES=1 -DREADS=1 -DBUG_SEAL_MINORITY"
  "sealed-serves bug -O0 reconfig.pml -DREPLACE -DWRITES=2 -DREADS=0 -DBUG_SEALED_SERVES"
)

selected=()
for r in "${runs[@]}"; do
  read -r name expect _ <<<"$r"
  if (($# == 0)); then
    selected+=("$r")
    continue
  fi
  for want in "$@"; do
    if [[ "$want" == "$name" || "$want" == "$expect" || ("$want" == bugs && "$expect" == bug) ]]; then
      selected+=("$r")
      break
    fi
  done
done
if ((${#selected[@]} == 0)); then
  echo "usage: scripts/model.sh [clean|bugs|RUN...]" >&2
  exit 2
fi

summary=()
failed=0
for r in "${selected[@]}"; do
  read -r name expect opt defines <<<"$r"
  model=register.pml
  if [[ "${defines%% *}" == *.pml ]]; then
    read -r model defines <<<"$defines"
  fi
  dir=$work/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$root/model/$model" "$dir/"
  echo
  echo "--- $name ($expect): spin $defines model/$model"
  start=$SECONDS
  # shellcheck disable=SC2086  # the defines are separate words
  if ! (cd "$dir" && timeout 120 spin $defines -a "$model" >spin.log 2>&1 &&
          timeout 180 gcc $opt -w -DCOLLAPSE -DSAFETY -DMEMLIM=2048 -o pan pan.c 2>gcc.log); then
    cat "$dir/spin.log" "$dir/gcc.log" 2>/dev/null || true
    echo "model.sh: $name: spin or gcc failed" >&2
    exit 2
  fi
  rc=0
  (cd "$dir" && timeout 300 ./pan -m10000 -w24 -n >pan.out 2>&1) || rc=$?
  took=$((SECONDS - start))
  out=$dir/pan.out
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | tail -1)
  states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$out" | tail -1)
  memory=$(sed -n 's/^ *\([0-9.]*\).*total actual memory usage.*/\1/p' "$out" | tail -1)
  pantime=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\).*/\1/p' "$out" | tail -1)
  grep -E 'errors:|states, stored|total actual|elapsed|pan:[0-9]|Search not completed|out of memory' "$out" |
    sed 's/^/    /' || true
  result=ok
  if [[ "$expect" == clean ]]; then
    if ((rc != 0)) || [[ "$errors" != 0 ]] || grep -q 'Search not completed\|out of memory' "$out"; then
      result="FAILED: the clean model must verify"
      if [[ -f "$dir/$model.trail" ]]; then
        echo "    counterexample (spin -t $defines model/$model):"
        # shellcheck disable=SC2086
        (cd "$dir" && timeout 60 spin -t $defines "$model" 2>&1 | grep -v '^\s*$' | sed 's/^/      /' | tail -60) || true
      fi
    fi
  else
    if [[ -z "$errors" || "$errors" == 0 || ! -f "$dir/$model.trail" ]]; then
      result="FAILED: no counterexample, the bug was not caught"
    else
      result="caught"
      echo "    counterexample (replay: spin -t $defines model/$model):"
      # shellcheck disable=SC2086
      (cd "$dir" && timeout 60 spin -t $defines "$model" 2>&1 |
        grep -Ev $'^\\s*$|^spin: trail ends|^#processes|process(es)? created|<valid end state>|^\t' |
        sed 's/^ *//; s/^/      /') || true
    fi
  fi
  [[ "$result" == ok || "$result" == caught ]] || failed=1
  echo "--- $name: $result (${took}s)"
  summary+=("$(printf '%-19s %-6s %-7s %12s states %8s s %9s MB  %s' "$name" "$expect" \
    "${result%%:*}" "${states:-?}" "${pantime:-?}" "${memory:-?}" "$defines")")
done

echo
echo "=== model checks (pan's states stored, search time, memory)"
printf '    %s\n' "${summary[@]}"
if ((failed)); then
  echo "model.sh: FAILED (see above)" >&2
  exit 1
fi
echo "model.sh: every clean run verified, every bug caught"
