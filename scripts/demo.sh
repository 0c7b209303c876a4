#!/usr/bin/env bash
# The main job: a live five-node cluster, narrated.
#
#   scripts/demo.sh
#
# Installs what is missing, builds, starts five token-replica processes on 127.0.0.1:50051-55
# (examples/cluster.yaml) with their data in a temporary directory, and shows: writes; reads
# of one token at different readers; a token of a range entry written and read; token-client
# batch (many operations from one process); a token crash-stopped on one replica while reads and
# writes go on and another token on that node is unaffected; the token's writer crash-stopped
# (writes time out, reads go on); a node killed with kill -9 and restarted with its registers
# intact; a node whose data dir is lost, rebuilt from the others on a restart with its usual
# command line; a backup and a restore; admin dumps. Everything it started is stopped when it
# ends, also on Ctrl-C.
#
# The setup (packages, cmake) writes its output to build/demo-setup.log, not to the screen:
# the screen gets one progress line, rewritten in place on a terminal (a plain line per phase
# otherwise), and on a failure the log's path and its last 30 lines.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

preset=${PRESET:-dev}
programs=(token-replica token-client token-admin)
setup_log="$root/build/demo-setup.log"
mkdir -p "$root/build"
: >"$setup_log"
on_tty=false width=80
if [[ -t 1 ]]; then on_tty=true width=$(tput cols 2>/dev/null || echo 80); fi
progress() {  # the setup's one line: rewritten in place on a terminal, a line of its own otherwise
  if $on_tty; then
    printf '\r\033[K%s' "${1:0:width-1}"
  else
    printf '%s\n' "$1"
  fi
}
# Reads a phase's output: a package installation is announced (a line of its own off a
# terminal); on a terminal the line follows apt's "Setting up PACKAGE" and ninja's [K/N].
follow() {
  local phase=$1 line packages
  while IFS= read -r line; do
    case $line in
      "bootstrap: installing missing packages: "*)
        read -ra packages <<<"${line#*: }"
        phase="installing ${#packages[@]} packages (apt-get)"
        progress "demo: $phase..."
        ;;
      "Setting up "*) $on_tty && progress "demo: $phase: ${line%% (*}" ;;
      "["[0-9]*/[0-9]*"]"*) $on_tty && progress "demo: $phase: ${line%%]*}]" ;;
    esac
  done
  return 0
}
# setup PHASE COMMAND...: COMMAND's output goes to the log only; on failure the demo stops
# with the log's path and its tail.
setup() {
  local phase=$1 rc
  shift
  progress "demo: $phase..."
  echo "== demo: $phase: $*" >>"$setup_log"
  set +e
  "$@" 2>&1 | tee -a "$setup_log" | follow "$phase"
  rc=${PIPESTATUS[0]}
  set -e
  if ((rc != 0)); then
    if $on_tty; then echo; fi
    echo "demo: '$*' failed (exit $rc). Its output is in $setup_log; the last 30 lines:" >&2
    tail -n 30 "$setup_log" >&2
    exit 1
  fi
}
setup_interrupted() {
  if $on_tty; then echo; fi
  echo "demo: interrupted; the setup's output so far is in $setup_log" >&2
  exit 130
}
trap setup_interrupted INT TERM
setup_start=$SECONDS
echo "demo: the setup's output (packages, cmake) goes to $setup_log"
setup "checking packages" scripts/bootstrap.sh
setup "configuring (cmake --preset $preset)" cmake --preset "$preset"
setup "building ${programs[*]}" cmake --build --preset "$preset" -j "$(nproc)" --target "${programs[@]}"
progress "demo: ready in $((SECONDS - setup_start)) s (packages present, ${programs[*]} built)"
if $on_tty; then echo; fi
bin="$root/build/$preset/bin"
config="$root/examples/cluster.yaml"

work=$(mktemp -d /tmp/tokenstore-demo.XXXXXX)
declare -A pid
cleanup() {
  local p
  for p in "${pid[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pid[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; stopping the cluster"; exit 130' INT TERM

nodes=(127.0.0.1:50051 127.0.0.1:50052 127.0.0.1:50053 127.0.0.1:50054 127.0.0.1:50055)
for n in "${nodes[@]}" 127.0.0.1:50056; do
  if (exec 3<>"/dev/tcp/${n%:*}/${n#*:}") 2>/dev/null; then
    echo "demo: $n is already in use; stop whatever listens there and run the demo again" >&2
    exit 1
  fi
done

bold=; plain=
if [[ -t 1 ]]; then bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true); fi
step() { echo; echo "${bold}== $*${plain}"; }
say() { echo "   $*"; }
run() { echo "\$ ${*/#$bin\//}"; "$@"; }
client() { run "$bin/token-client" --config "$config" "$@"; }
admin() { run "$bin/token-admin" "$@"; }

start_node() {
  local n=$1 dir="$work/data-${1#*:}" file=${2:-$config}
  "$bin/token-replica" --config "$file" --listen "$n" --data-dir "$dir" \
    >>"$work/log-${n#*:}.jsonl" 2>>"$work/log-${n#*:}.err" &
  pid[$n]=$!
}
wait_ready() {  # until the node's dump says it serves, for at most about 20 s
  # A node answers dumps as soon as it listens, while it may still be starting or rebuilding
  # (health NOT_SERVING); its dump's header says "(serving; ...)" once it counts in quorums.
  local n=$1 i header
  for i in $(seq 1 200); do
    header=$("$bin/token-admin" dump --node "$n" --timeout 500ms 2>/dev/null || true)
    [[ ${header%%$'\n'*} == *"(serving;"* ]] && return 0
    sleep 0.1
  done
  echo "demo: $n did not start serving; its log:" >&2
  cat "$work/log-${n#*:}.err" >&2
  exit 1
}

step "Starting five replicas (config: examples/cluster.yaml, data: $work)"
for n in "${nodes[@]}"; do start_node "$n"; done
for n in "${nodes[@]}"; do wait_ready "$n"; say "$n up (pid ${pid[$n]})"; done

step "Writes go to each token's writer and return the partial value"
client write --token 1 --name abc --low 5 --mid 25 --high 100
client write --token 2 --name demo --low 0 --mid 1000 --high 5000
client write --token alpha --name greek --low 10 --mid 20 --high 30

step "Reads of token 1 at three different readers agree on the final value"
for n in 127.0.0.1:50052 127.0.0.1:50053 127.0.0.1:50055; do client read --token 1 --node "$n"; done
say "A reader chosen at random, as JSON:"
client --json read --token 1

step "Many tokens in one entry: r0 ... r9 share one writer and readers (tokens: {prefix: r, from: 0, to: 9})"
client write --token r7 --name ranged --low 0 --mid 10 --high 40
client read --token r7 --node 127.0.0.1:50051

step "Many operations from one process: token-client batch (one stream per node, many in flight)"
say "Writes of r0 ... r4 and reads of them, one operation per line on stdin, one JSON line out each:"
for i in 0 1 2 3 4; do echo "write r$i batch-$i 0 8 32"; done >"$work/batch.txt"
for i in 0 1 2 3 4; do echo "read r$i"; done >>"$work/batch.txt"
echo "\$ token-client --config $config batch --parallel 1 < batch.txt"
"$bin/token-client" --config "$config" batch --parallel 1 <"$work/batch.txt" >"$work/batch.jsonl"
say "(its first two lines and its last:)"
sed -n '1,2p;$p' "$work/batch.jsonl"
say "1,000 reads in one process (the default 16 in flight):"
for i in $(seq 1 1000); do echo "read r$((i % 5))"; done >"$work/reads.txt"
batch_start=$(date +%s%N)
"$bin/token-client" --config "$config" batch <"$work/reads.txt" >"$work/reads.jsonl"
say "$(wc -l <"$work/reads.jsonl") results in $((($(date +%s%N) - batch_start) / 1000000)) ms"

step "Token 1 crash-stopped on 127.0.0.1:50053: it answers nothing about token 1 from now on"
admin crash --node 127.0.0.1:50053 --token 1
say "Reads and writes of token 1 go on through the other replicas:"
client write --token 1 --name abc-2 --low 0 --mid 50 --high 200
client read --token 1 --node 127.0.0.1:50052
say "A read pinned to 127.0.0.1:50053 gets no answer (it times out after 1 s):"
client read --token 1 --node 127.0.0.1:50053 --timeout 1s || say "(exit code $?, as expected)"
say "Token 3 on the same node is unaffected:"
client write --token 3 --name three --low 1 --mid 2 --high 50
client read --token 3 --node 127.0.0.1:50053

step "Token 1's writer (127.0.0.1:50051) crash-stopped too: writes time out, reads go on"
admin crash --node 127.0.0.1:50051 --token 1
client write --token 1 --name never --low 0 --mid 1 --high 2 --timeout 2s || say "(exit code $?, as expected)"
client read --token 1 --node 127.0.0.1:50054
say "Reviving both:"
admin revive --node 127.0.0.1:50051 --token 1
admin revive --node 127.0.0.1:50053 --token 1
client write --token 1 --name abc-3 --low 5 --mid 25 --high 100
client read --token 1 --node 127.0.0.1:50053

step "kill -9 of 127.0.0.1:50054, then a restart: its registers are intact"
admin dump --node 127.0.0.1:50054 | tee "$work/before.txt"
run kill -9 "${pid[127.0.0.1:50054]}"
wait "${pid[127.0.0.1:50054]}" 2>/dev/null || true
unset 'pid[127.0.0.1:50054]'
say "While it is down, token alpha (writer 50054) cannot be written, but the others go on:"
client write --token alpha --name down --low 0 --mid 1 --high 2 --timeout 1s || say "(exit code $?, as expected)"
client read --token 2 --node 127.0.0.1:50053
say "An offline dump of its data directory:"
admin dump --data-dir "$work/data-50054"
start_node 127.0.0.1:50054
wait_ready 127.0.0.1:50054
say "Restarted (pid ${pid[127.0.0.1:50054]}). Its dump now:"
admin dump --node 127.0.0.1:50054 | tee "$work/after.txt"
# The header line names the node's boot, one higher after the restart; the registers follow it.
registers() { grep -v '^node ' "$1" || true; }
if diff -q <(registers "$work/before.txt") <(registers "$work/after.txt") >/dev/null; then
  say "Its registers are identical to the dump before kill -9 (the header counts one more boot)."
else
  say "Its registers differ from before kill -9 (registers may only move forward):"
  diff <(registers "$work/before.txt") <(registers "$work/after.txt") || true
fi
client read --token alpha --node 127.0.0.1:50054

step "A replaced disk: 127.0.0.1:50055 killed, its data dir removed, restarted as usual"
run kill -9 "${pid[127.0.0.1:50055]}"
wait "${pid[127.0.0.1:50055]}" 2>/dev/null || true
unset 'pid[127.0.0.1:50055]'
run rm -rf "$work/data-50055"
say "While it is down, token 1 gets a new value (held only by the other replicas):"
client write --token 1 --name abc-4 --low 5 --mid 25 --high 100
start_node 127.0.0.1:50055
wait_ready 127.0.0.1:50055
say "Restarted with the usual command line (pid ${pid[127.0.0.1:50055]}). Its log: it saw that the"
say "cluster holds data, so it rebuilt every token from the other replicas before serving:"
grep -E 'msg="(the data dir|rebuilt|serving")' "$work/log-50055.err" | tail -n 3 | sed 's/^/   /'
admin dump --node 127.0.0.1:50055
say "A read at it returns the latest value of token 1 (abc-4):"
client read --token 1 --node 127.0.0.1:50055

step "Backup and restore: every token read atomically into a JSON Lines file"
admin backup --config "$config" --out "$work/backup.jsonl"
say "Its first two lines:"
head -n 2 "$work/backup.jsonl" | sed 's/^/   /'
say "Token 3 reset to undefined; a restore writes it back (tokens defined now are skipped; the"
say "never-written range tokens, undefined in the backup and now, are created again):"
client create --token 3
admin restore --config "$config" --in "$work/backup.jsonl"
say "Token 3 has its value again, under a new timestamp (timestamps are not restored):"
client read --token 3

step "A replica set changed under load: token 3 moves off 127.0.0.1:50053 to a new node, 50056"
say "new.yaml is the same file with token 3 at writer 50054, readers 50054, 50055 and the new"
say "node 127.0.0.1:50056 (instead of writer 50053, readers 50053-50055):"
sed -e '/^- token: 3$/,/^  readers:/{s/^  writer: .*/  writer: 127.0.0.1:50054/;s/^  readers: .*/  readers: [127.0.0.1:50054, 127.0.0.1:50055, 127.0.0.1:50056]/}' \
  "$config" >"$work/new.yaml"
grep -A2 '^- token: 3$' "$work/new.yaml" | sed 's/^/   /'
say "The new node starts on an empty data dir with new.yaml; it waits for the move to serve token 3:"
start_node 127.0.0.1:50056 "$work/new.yaml"
sleep 1
admin --config "$config" reconfigure --to "$work/new.yaml" --dry-run
say "A client keeps writing token 3 with the OLD file while the move runs:"
(
  ok=0
  for i in $(seq 1 40); do
    if "$bin/token-client" --config "$config" write --token 3 --name "load-$i" --low 1 --mid 5 \
      --high 50 >/dev/null 2>>"$work/load.err"; then ok=$((ok + 1)); fi
  done
  echo "$ok" >"$work/load.ok"
) &
load=$!
sleep 0.3
admin --config "$config" reconfigure --to "$work/new.yaml"
wait "$load"
say "The client's 40 writes during and after the move: $(cat "$work/load.ok") acknowledged; what it"
say "was told, once (the client follows the new configuration on its own):"
sort -u "$work/load.err" | grep -m 1 'moved to epoch' | sed 's/^/   /' || true
wait_ready 127.0.0.1:50056
say "The new node serves token 3 with the last write; the old writer no longer keeps it:"
client read --token 3 --node 127.0.0.1:50056
client read --token 3 --node 127.0.0.1:50053 --timeout 1s || say "(exit code $?: 50053 left token 3)"
say "new.applied.yaml carries the new epoch; it is the file to distribute:"
grep -A3 '^- token: 3$' "$work/new.applied.yaml" | sed 's/^/   /'

step "An offline dump refuses politely while the replica holds its directory"
admin dump --data-dir "$work/data-50051" || say "(exit code $?, as expected)"

step "What a replica logs: one JSON line per completed client operation (last 2 of 50052)"
tail -n 2 "$work/log-50052.jsonl"

step "Stopping the cluster with SIGTERM"
for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}"; done
for n in "${!pid[@]}"; do
  if wait "${pid[$n]}"; then say "$n exited 0"; else say "$n exited $?"; fi
done
pid=()
echo
echo "${bold}Demo finished.${plain}"
