#!/usr/bin/env bash
# scripts/scale.sh: what a million tokens cost on three replicas of this machine (issue 14).
# Builds the release preset's token-replica, token-client and token-bench, then, on 127.0.0.1
# ports SCALE_PORT_BASE+1..3 (default 56101-56103; metrics on +11..+13), measures and prints:
#
#   1. an "empty" cluster (16 tokens): each node's resident memory, and token-bench's mixed
#      workload (90 % reads) over the 16 tokens;
#   2. SCALE_TOKENS tokens (default 1,000,000) named by three ranges (tokens: {prefix: t, ...},
#      one writer each, every node a reader of all): the time from start until every node
#      answers /readyz, memory per token above the empty node, and token-client's time for
#      one read and one write (median of 5 processes, each loading the file);
#   3. every token written once (token-client batch --parallel 256): the time, and memory per
#      token with a million defined registers;
#   4. token-bench over the million tokens: uniform and Zipfian (theta 0.99) choice, next to
#      the 16 tokens of step 1, and their ratios;
#   5. a restart of all three with the registers on disk (SIGTERM, start): time until every
#      node answers /readyz, and memory after;
#   6. SCALE_LIST_TOKENS per-token entries (default 100,000; - token: ... one by one): the
#      time until serving, and token-client's time for one read and one write.
#
#   scripts/scale.sh                         # about 15 minutes here
#   SCALE_TOKENS=100000 scripts/scale.sh     # quicker
#
# The figures print as a table at the end; docs/benchmarks.md quotes one run ("A million
# tokens"). Times depend on what else the machine runs: run it alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tokens=${SCALE_TOKENS:-1000000}
list_tokens=${SCALE_LIST_TOKENS:-100000}
bench_seconds=${SCALE_BENCH_SECONDS:-10}
clients=${SCALE_CLIENTS:-16}
base=${SCALE_PORT_BASE:-56100}
[[ "$tokens" =~ ^[0-9]+$ && "$tokens" -ge 3 ]] || { echo "SCALE_TOKENS must be a number >= 3" >&2; exit 2; }
[[ "$list_tokens" =~ ^[0-9]+$ && "$list_tokens" -ge 3 ]] || { echo "SCALE_LIST_TOKENS must be a number >= 3" >&2; exit 2; }

scripts/bootstrap.sh >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target token-replica token-client token-bench >/dev/null
bin="$root/build/release/bin"

work=$(mktemp -d /tmp/tokenstore-scale.XXXXXX)
declare -A pid=()
cleanup() {
  for n in "${!pid[@]}"; do kill -9 "${pid[$n]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node() { echo "127.0.0.1:$((base + $1))"; }
readers="[$(node 1), $(node 2), $(node 3)]"
for n in 1 2 3; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$((base + n))") 2>/dev/null; then
    echo "port $((base + n)) is in use; set SCALE_PORT_BASE" >&2
    exit 1
  fi
done

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/${pid[$1]}/status"; }

# ready N: true when node N's metrics port answers /readyz with 200.
ready() {
  local line
  { exec 3<>"/dev/tcp/127.0.0.1/$((base + 10 + $1))"; } 2>/dev/null || return 1
  printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3
  IFS= read -r -t 2 line <&3 || line=""
  exec 3<&- 3>&-
  [[ $line == *" 200 "* ]]
}

# start CONFIG: starts the three nodes (data in $work/dN, kept across calls) and waits until
# all answer /readyz (at most 120 s); sets `took` to the seconds that took. (Not a $(...)
# function: the pids must stay in this shell.)
start() {
  local config=$1 t0 n k
  t0=$(now)
  for n in 1 2 3; do
    "$bin/token-replica" --config "$config" --listen "$(node "$n")" --data-dir "$work/d$n" \
      --metrics-listen "127.0.0.1:$((base + 10 + n))" --no-op-log --log-level warn \
      >>"$work/log$n" 2>&1 &
    pid[$n]=$!
  done
  for n in 1 2 3; do
    for ((k = 0; k < 2400; k++)); do
      ready "$n" && break
      kill -0 "${pid[$n]}" 2>/dev/null || { echo "node $n exited; its log:" >&2; tail -20 "$work/log$n" >&2; exit 1; }
      sleep 0.05
    done
    ready "$n" || { echo "node $n not ready after 120 s" >&2; exit 1; }
  done
  took=$(elapsed "$t0" "$(now)")
}

stop() {
  for n in 1 2 3; do kill "${pid[$n]}" 2>/dev/null || true; done
  for n in 1 2 3; do wait "${pid[$n]}" 2>/dev/null || true; done
  pid=()
}

wipe() { rm -rf "$work"/d1 "$work"/d2 "$work"/d3; }

# per_token KB_NOW KB_EMPTY COUNT: bytes per token above the empty node.
per_token() { python3 -c "import sys; print(round((int(sys.argv[1]) - int(sys.argv[2])) * 1024 / int(sys.argv[3])))" "$@"; }

# client_ms CONFIG OP TOKEN: median wall time in ms of 5 token-client processes.
client_ms() {
  local config=$1 op=$2 token=$3 i t0 times=()
  for i in 1 2 3 4 5; do
    t0=$(now)
    if [[ $op == read ]]; then
      "$bin/token-client" --config "$config" read --token "$token" >/dev/null
    else
      "$bin/token-client" --config "$config" write --token "$token" --name "scale$i" --low 0 --mid 8 --high 16 >/dev/null
    fi
    times+=("$(elapsed "$t0" "$(now)")")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 3p | awk '{printf "%.0f", $1 * 1000}'
}

# bench CONFIG [ARGS...]: token-bench's ops/s for the mixed workload.
bench() {
  local config=$1
  shift
  "$bin/token-bench" --config "$config" --api session --conns 1 --clients "$clients" \
    --workload mixed --duration "${bench_seconds}s" --warmup 2s --json "$@" |
    python3 -c "import json, sys; r = json.load(sys.stdin); print(f\"{r['ops_per_s']:.0f} {r['errors']}\")"
}

third=$((tokens / 3))
range_config="$work/range.yaml"
cat >"$range_config" <<EOF
- tokens: {prefix: t, from: 0, to: $((third - 1))}
  writer: $(node 1)
  readers: $readers
- tokens: {prefix: t, from: $third, to: $((2 * third - 1))}
  writer: $(node 2)
  readers: $readers
- tokens: {prefix: t, from: $((2 * third)), to: $((tokens - 1))}
  writer: $(node 3)
  readers: $readers
EOF
small_config="$work/small.yaml"
for ((t = 0; t < 16; t++)); do
  printf -- '- token: s%d\n  writer: %s\n  readers: %s\n' "$t" "$(node $((t % 3 + 1)))" "$readers"
done >"$small_config"
list_config="$work/list.yaml"
python3 - "$list_config" "$list_tokens" "$(node 1)" "$(node 2)" "$(node 3)" "$readers" <<'PY'
import sys
path, count, nodes, readers = sys.argv[1], int(sys.argv[2]), sys.argv[3:6], sys.argv[6]
with open(path, "w") as f:
    for i in range(count):
        f.write(f"- token: l{i}\n  writer: {nodes[i % 3]}\n  readers: {readers}\n")
PY

echo "scale: $tokens tokens, $list_tokens per-token entries, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

echo "== 1. 16 tokens"
start "$small_config"
s_small=$took
declare -A empty_kb
for n in 1 2 3; do empty_kb[$n]=$(rss_kb "$n"); done
read -r ops_small err_small < <(bench "$small_config")
echo "   serving after ${s_small}s; RSS ${empty_kb[1]} / ${empty_kb[2]} / ${empty_kb[3]} KB; mixed ${ops_small} ops/s (${err_small} errors)"
stop
wipe

echo "== 2. $tokens tokens in three ranges"
start "$range_config"
s_range=$took
declare -A start_kb start_b
for n in 1 2 3; do start_kb[$n]=$(rss_kb "$n"); start_b[$n]=$(per_token "${start_kb[$n]}" "${empty_kb[$n]}" "$tokens"); done
read_ms=$(client_ms "$range_config" read "t$((tokens - 1))")
write_ms=$(client_ms "$range_config" write "t$((tokens - 1))")
echo "   serving after ${s_range}s; ${start_b[1]} / ${start_b[2]} / ${start_b[3]} bytes per token above the empty node; token-client read ${read_ms} ms, write ${write_ms} ms"

echo "== 3. every token written once"
t0=$(now)
python3 -c "
import sys
for i in range(int(sys.argv[1])): print(f'write t{i} fill{i} 0 8 16')" "$tokens" |
  "$bin/token-client" --config "$range_config" batch --parallel 256 >"$work/fill.out"
fill_s=$(elapsed "$t0" "$(now)")
fill_errors=$(grep -c '"error"' "$work/fill.out" || true)
declare -A fill_kb fill_b
for n in 1 2 3; do fill_kb[$n]=$(rss_kb "$n"); fill_b[$n]=$(per_token "${fill_kb[$n]}" "${empty_kb[$n]}" "$tokens"); done
echo "   ${fill_s}s ($fill_errors errors); ${fill_b[1]} / ${fill_b[2]} / ${fill_b[3]} bytes per token above the empty node"

echo "== 4. token-bench over $tokens tokens"
read -r ops_uniform err_uniform < <(bench "$range_config" --no-initial-writes)
read -r ops_zipf err_zipf < <(bench "$range_config" --no-initial-writes --zipf 0.99)
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
echo "   uniform ${ops_uniform} ops/s (${err_uniform} errors), Zipfian ${ops_zipf} ops/s (${err_zipf} errors)"

echo "== 5. restart with the registers on disk"
stop
start "$range_config"
s_restart=$took
declare -A restart_b
for n in 1 2 3; do restart_b[$n]=$(per_token "$(rss_kb "$n")" "${empty_kb[$n]}" "$tokens"); done
echo "   serving after ${s_restart}s; ${restart_b[1]} / ${restart_b[2]} / ${restart_b[3]} bytes per token above the empty node"
stop
wipe

echo "== 6. $list_tokens per-token entries"
start "$list_config"
s_list=$took
list_read_ms=$(client_ms "$list_config" read "l$((list_tokens - 1))")
list_write_ms=$(client_ms "$list_config" write "l$((list_tokens - 1))")
echo "   serving after ${s_list}s; token-client read ${list_read_ms} ms, write ${list_write_ms} ms"
stop

cat <<EOF

| measure | figure |
|---|---|
| $tokens tokens (3 ranges): serving after start | ${s_range} s |
| memory above an empty node, registers undefined (node 1 / 2 / 3) | ${start_b[1]} / ${start_b[2]} / ${start_b[3]} B per token |
| token-client, one process per call: read / write (median of 5) | ${read_ms} / ${write_ms} ms |
| every token written once (batch, 256 in flight) | ${fill_s} s |
| memory above an empty node, every register defined | ${fill_b[1]} / ${fill_b[2]} / ${fill_b[3]} B per token |
| restart of all three with $tokens registers on disk: serving after | ${s_restart} s |
| memory after that restart | ${restart_b[1]} / ${restart_b[2]} / ${restart_b[3]} B per token |
| mixed ops/s, $clients clients: 16 tokens / $tokens uniform / $tokens Zipfian 0.99 | ${ops_small} / ${ops_uniform} / ${ops_zipf} |
| ops/s ratio to 16 tokens: uniform / Zipfian | $(ratio "$ops_uniform" "$ops_small") / $(ratio "$ops_zipf" "$ops_small") |
| $list_tokens per-token entries: serving after start | ${s_list} s |
| token-client with $list_tokens per-token entries: read / write | ${list_read_ms} / ${list_write_ms} ms |
EOF
