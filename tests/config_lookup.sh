#!/bin/sh
# Where the programs find the replication scheme (config/config_location.h): --config, then
# TOKENSTORE_CONFIG, then ./cluster.yaml, then /etc/tokenstore/cluster.yaml (token-client,
# token-admin); token-replica only --config and TOKENSTORE_CONFIG.
#   tests/config_lookup.sh BIN_DIR
# No server runs: a token missing from the file that was loaded fails with NOT_FOUND (exit 3)
# before any network call, which shows which file was loaded.
set -u
bin=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/config-lookup-XXXXXX")
trap 'rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect CODE TEXT COMMAND...: runs COMMAND in $dir/cwd; exit CODE, stderr containing TEXT.
expect() {
  code=$1 text=$2
  shift 2
  err=$(cd "$dir/cwd" && "$@" 2>&1 >/dev/null)
  rc=$?
  [ "$rc" -eq "$code" ] || fail "$* exited $rc, not $code: $err"
  case $err in *"$text"*) ;; *) fail "$*: stderr lacks \"$text\": $err" ;; esac
}

mkdir "$dir/cwd"
unset TOKENSTORE_CONFIG

if [ ! -e /etc/tokenstore/cluster.yaml ]; then
  expect 2 "no configuration file: --config not given, TOKENSTORE_CONFIG not set, no cluster.yaml in the current directory, no /etc/tokenstore/cluster.yaml" \
    "$bin/token-client" read --token a
  expect 2 "backup needs the cluster's replication scheme: no configuration file" \
    "$bin/token-admin" backup --out "$dir/b.jsonl"
fi
expect 2 "$dir/absent.yaml (from TOKENSTORE_CONFIG)" \
  env TOKENSTORE_CONFIG="$dir/absent.yaml" "$bin/token-client" read --token a

printf -- '- token: a\n  writer: 127.0.0.1:1\n  readers: [127.0.0.1:1]\n' >"$dir/cwd/cluster.yaml"
printf -- '- token: b\n  writer: 127.0.0.1:1\n  readers: [127.0.0.1:1]\n' >"$dir/env.yaml"
# ./cluster.yaml when nothing else is given: it has a, not b.
expect 3 '"b"' "$bin/token-client" read --id b
# TOKENSTORE_CONFIG before ./cluster.yaml: env.yaml has b, not a.
expect 3 '"a"' env TOKENSTORE_CONFIG="$dir/env.yaml" "$bin/token-client" read --token a
# --config before TOKENSTORE_CONFIG.
expect 3 '"b"' env TOKENSTORE_CONFIG="$dir/env.yaml" "$bin/token-client" --config cluster.yaml read --id b
# token-admin checks crash against the file it found.
expect 2 "not in" env TOKENSTORE_CONFIG="$dir/env.yaml" \
  "$bin/token-admin" crash --node 127.0.0.1:1 --token a

# token-replica: no default path, even with ./cluster.yaml present.
expect 2 "no configuration file: --config not given, TOKENSTORE_CONFIG not set (give" \
  "$bin/token-replica" --listen 127.0.0.1:1 --data-dir "$dir/data"
# ... but TOKENSTORE_CONFIG: the file is loaded (and then its --listen is checked).
expect 2 "$dir/absent.yaml" env TOKENSTORE_CONFIG="$dir/absent.yaml" \
  "$bin/token-replica" --listen 127.0.0.1:1 --data-dir "$dir/data"

[ "$failures" -eq 0 ] && echo "config lookup: ok"
exit "$failures"
