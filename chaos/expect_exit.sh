#!/usr/bin/env bash
# For ctest: runs a command and passes only when it exits with the expected code, e.g.
#   expect_exit.sh 1 scripts/chaos.sh --unsafe-bug read-local ...   (a violation must be found)
set -u
want="$1"
shift
"$@"
got=$?
if [[ "$got" != "$want" ]]; then
  echo "expect_exit.sh: expected exit $want, got $got from: $*" >&2
  exit 1
fi
echo "expect_exit.sh: exit $got as expected"
