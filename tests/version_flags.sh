#!/bin/sh
# Every program answers --version with "NAME VERSION (git HASH[-dirty]|unknown, built DATE)"
# on stdout and exit 0 (common/build_info.h).
#   tests/version_flags.sh VERSION PROGRAM...
set -u
version=$1
shift
status=0
for program in "$@"; do
  name=$(basename "$program")
  out=$("$program" --version)
  rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "FAIL: $name --version exited $rc" >&2
    status=1
  elif ! printf '%s\n' "$out" |
      grep -Eqx "$name $version \(git ([0-9a-f]{4,40}(-dirty)?|unknown), built [0-9]{4}-[0-9]{2}-[0-9]{2}\)"; then
    echo "FAIL: $name --version printed: $out" >&2
    status=1
  else
    echo "ok: $out"
  fi
done
exit $status
