#!/bin/bash
# scripts/completion/tokenstore.bash against the programs' real --help: every subcommand and
# every long flag a program's help lists is offered, and nothing is offered that the help does
# not list (so the completion cannot drift from the programs).
#   tests/completion_test.sh BIN_DIR COMPLETION_FILE
set -u
bin=$1
# shellcheck source=../scripts/completion/tokenstore.bash
source "$2"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# What the completion offers for the command line "$@" (the last word is being completed).
offered() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  _tokenstore_complete
  printf '%s\n' "${COMPREPLY[@]}" | sort -u
}

# The long flags a --help text lists ("  -h,--help ...", "  --token,--id TEXT ...").
long_flags() {
  grep -E '^  -' | awk '{print $1}' | tr ',' '\n' | grep -E '^--' | sort -u
}

# The subcommands a --help text lists.
subcommands() {
  sed -n '/^Subcommands:/,/^$/p' | grep -E '^  [a-z]' | awk '{print $1}' | sort -u
}

# check WHAT EXPECTED OFFERED: every line of EXPECTED is in OFFERED and the reverse.
check() {
  local what=$1 expected=$2 got=$3 missing extra
  missing=$(comm -23 <(echo "$expected") <(echo "$got") | tr '\n' ' ')
  extra=$(comm -13 <(echo "$expected") <(echo "$got") | tr '\n' ' ')
  [[ -z ${missing// /} ]] || fail "$what: --help lists, completion lacks: $missing"
  [[ -z ${extra// /} ]] || fail "$what: completion offers, --help lacks: $extra"
}

for program in token-client token-admin token-replica; do
  help=$("$bin/$program" --help) || fail "$program --help failed"
  top_flags=$(long_flags <<<"$help")
  subs=$(subcommands <<<"$help")
  check "$program" "$top_flags" "$(offered "$program" --)"
  check "$program subcommands" "$subs" "$(offered "$program" "" | grep -v -- '^-')"
  for sub in $subs; do
    sub_help=$("$bin/$program" "$sub" --help) || fail "$program $sub --help failed"
    # Global options may follow the subcommand.
    expected=$( (long_flags <<<"$sub_help"; echo "$top_flags") | sort -u)
    check "$program $sub" "$expected" "$(offered "$program" "$sub" --)"
    # ... also after a global option and its value before the subcommand.
    check "$program --timeout 1s $sub" "$expected" \
      "$(offered "$program" --timeout 1s "$sub" --)"
  done
done

# Values.
[[ $(offered token-replica --log-level w) == warn ]] || fail "--log-level w: $(offered token-replica --log-level w)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf -- '- token: 1\n  writer: 127.0.0.1:50051\n  readers: [127.0.0.1:50052]\n' >"$dir/c.yaml"
nodes=$(offered token-client --config "$dir/c.yaml" read --node "")
[[ $nodes == $'127.0.0.1:50051\n127.0.0.1:50052' ]] || fail "--node from --config: $nodes"
nodes=$(TOKENSTORE_CONFIG="$dir/c.yaml" offered token-admin crash --node 127.0.0.1:5005)
[[ $nodes == $'127.0.0.1:50051\n127.0.0.1:50052' ]] || fail "--node from TOKENSTORE_CONFIG: $nodes"
[[ -z $(offered token-client read --token "") ]] || fail "a token id is not guessed"

[[ $failures -eq 0 ]] && echo "completion: ok"
exit "$failures"
