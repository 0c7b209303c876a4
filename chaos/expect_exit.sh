#!/usr/bin/env bash
# For ctest: runs a fault run and passes only when it exits with the expected code, e.g.
#   expect_exit.sh 1 scripts/chaos.sh --unsafe-bug read-local ...   (a violation must be found)
# The run directory goes to a temporary place: removed when the exit was the expected one
# (an expected violation leaves nothing to look at), kept and named otherwise.
set -u
want="$1"
shift
work=$(mktemp -d /tmp/tokenstore-fault.XXXXXX)
"$@" --dir "$work"
got=$?
if [[ "$got" != "$want" ]]; then
  echo "expect_exit.sh: expected exit $want, got $got from: $*; run directory kept: $work" >&2
  exit 1
fi
rm -rf "$work"
echo "expect_exit.sh: exit $got as expected"
