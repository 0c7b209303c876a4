# bash completion for token-client, token-admin and token-replica: subcommands, flags, and
# values where they are known (files, directories, log levels, the nodes of the configuration).
#
#   source scripts/completion/tokenstore.bash          # this shell
#   # or, for every shell of this user (bash-completion 2 loads it by the command's name):
#   mkdir -p ~/.local/share/bash-completion/completions
#   for p in token-client token-admin token-replica; do
#     cp scripts/completion/tokenstore.bash ~/.local/share/bash-completion/completions/$p
#   done
#
# The flag lists below are checked against each program's --help by tests/completion_test.sh
# (ctest -R completion): a flag added to a program without being added here fails that test.

# The words to offer for PROGRAM SUBCOMMAND ("" for the program's own options and
# subcommands).
_tokenstore_words() {
  local tls="--tls-ca --tls-cert --tls-key"
  case "$1 $2" in
    "token-client ")
      echo "--help --version --config --node --json --timeout --attempt-timeout $tls" \
           "write read create drop batch" ;;
    "token-client write") echo "--help --token --id --name --low --mid --high" ;;
    "token-client read" | "token-client create" | "token-client drop")
      echo "--help --token --id" ;;
    "token-client batch") echo "--help --parallel" ;;
    "token-admin ")
      echo "--help --version --config --json --timeout $tls" \
           "crash revive dump backup restore reconfigure" ;;
    "token-admin crash" | "token-admin revive") echo "--help --node --token --id" ;;
    "token-admin dump") echo "--help --node --data-dir --progress-every" ;;
    "token-admin backup") echo "--help --out --concurrency --progress-every" ;;
    "token-admin restore") echo "--help --in --force --concurrency --progress-every" ;;
    "token-admin reconfigure") echo "--help --to --dry-run --out --parallel" ;;
    "token-replica ")
      echo "--help --version --config --listen --bind --data-dir --max-range --max-op-seconds" \
           "--hash-threads --no-op-log --metrics-listen --log-level --log-format --rebuild" \
           "--new-cluster --accept-data-loss $tls --max-inflight --max-inflight-per-token" \
           "--max-name-bytes --max-message-bytes" ;;
  esac
}

# Flags that take no value (every other flag's next word is its value).
_tokenstore_is_switch() {
  case "$1" in
    --help | -h | --version | --json | --force | --no-op-log | --rebuild | --new-cluster | \
      --accept-data-loss | --dry-run) return 0 ;;
  esac
  return 1
}

# The access points named in the configuration the command line (or TOKENSTORE_CONFIG, or
# ./cluster.yaml) points at.
_tokenstore_nodes() {
  local config="${TOKENSTORE_CONFIG:-}" i
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    [[ ${COMP_WORDS[i]} == --config ]] && config="${COMP_WORDS[i + 1]}"
  done
  [[ -z $config && -f cluster.yaml ]] && config=cluster.yaml
  [[ -r $config ]] || return 0
  grep -oE '(\[[0-9a-fA-F:.]+\]|[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+):[0-9]+' "$config" | sort -u
}

_tokenstore_complete() {
  local program cur prev sub="" i
  program=$(basename -- "${COMP_WORDS[0]}")
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD - 1]}"
  COMPREPLY=()

  # The subcommand: the first word that is not a flag or a flag's value.
  local top
  top=" $(_tokenstore_words "$program" "") "
  for ((i = 1; i < COMP_CWORD; i++)); do
    local w="${COMP_WORDS[i]}"
    if [[ $w == -* ]]; then
      _tokenstore_is_switch "$w" || ((i++))
    elif [[ $top == *" $w "* ]]; then
      sub="$w"
      break
    fi
  done

  case "$prev" in
    --config | --tls-ca | --tls-cert | --tls-key | --in | --out | --to)
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
    --data-dir)
      COMPREPLY=($(compgen -d -- "$cur"))
      return ;;
    --node | --listen | --bind)
      COMPREPLY=($(compgen -W "$(_tokenstore_nodes)" -- "$cur"))
      return ;;
    --log-level)
      COMPREPLY=($(compgen -W "debug info warn error" -- "$cur"))
      return ;;
    --log-format)
      COMPREPLY=($(compgen -W "logfmt json" -- "$cur"))
      return ;;
    --timeout | --attempt-timeout | --max-op-seconds)
      COMPREPLY=($(compgen -W "500ms 1s 5s 10s 1m" -- "$cur"))
      return ;;
  esac
  if [[ $prev == -* ]] && ! _tokenstore_is_switch "$prev"; then
    return  # a value nobody can guess (a token id, a number)
  fi

  local words
  if [[ -z $sub ]]; then
    words=$(_tokenstore_words "$program" "")
  else
    # Global options may follow the subcommand (token-client and token-admin).
    words="$(_tokenstore_words "$program" "$sub") $(_tokenstore_words "$program" "" |
      tr ' ' '\n' | grep -- '^-' | tr '\n' ' ')"
  fi
  if [[ -n $sub || $cur == -* ]]; then
    words=$(tr ' ' '\n' <<<"$words" | grep -- '^-' | tr '\n' ' ')
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}

complete -F _tokenstore_complete token-client token-admin token-replica
