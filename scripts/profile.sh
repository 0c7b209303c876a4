#!/usr/bin/env bash
# CPU per operation of a 3-replica token store under a fixed closed-loop load.
#
#   scripts/profile.sh [--bin DIR] [--workload write|read|mixed] [--clients N] [--ops N]
#                      [--tool none|callgrind|perf] [--out DIR]
#
# Starts three token-replica processes from DIR (default build/release/bin) on loopback with
# the same layout as scripts/bench.sh (16 tokens, writers spread over the nodes, every node a
# reader), runs `token-bench --ops N` against them, and prints for every replica the CPU time
# it used during the run (user + system, from /proc/PID/stat) divided by the operations run.
# CPU time per operation is what bounds throughput on a CPU-bound machine, and unlike ops/s
# it hardly depends on what else the machine runs, so it is the figure for A/B comparisons.
#
# --tool callgrind runs the first replica under valgrind --tool=callgrind (the others run
# natively). Its counters are zeroed after a warm-up of 5 s (connections made, every token
# written) and dumped after --seconds S (default 20) of load, then divided by the operations
# token-bench measured in that time: instructions per operation (OUT/callgrind.out.*, read it
# with callgrind_annotate). Under callgrind that replica is ~50x slower than natively, which
# changes how much there is to batch: compare callgrind figures only with callgrind figures.
# --tool perf samples the first replica with `perf record -e cpu-clock -g` (OUT/perf.data;
# scripts/perf_split.py splits it by category).
#
# Ports: PROFILE_PORT_BASE (default 47000) + 51..53. Stops everything it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bin="$root/build/release/bin"
workload=write
clients=16
ops=20000
tool=none
seconds=20
out=/tmp/tokenstore-profile
while (($#)); do
  case "$1" in
    --bin) bin=$2; shift ;;
    --workload) workload=$2; shift ;;
    --clients) clients=$2; shift ;;
    --ops) ops=$2; shift ;;
    --tool) tool=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
bin=$(cd "$bin" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
base=${PROFILE_PORT_BASE:-47000}
tokens=16
work=$(mktemp -d /tmp/tokenstore-profile.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

nodes=(127.0.0.1:$((base + 51)) 127.0.0.1:$((base + 52)) 127.0.0.1:$((base + 53)))
config="$work/cluster.yaml"
for ((t = 0; t < tokens; t++)); do
  printf -- '- token: %d\n  writer: %s\n  readers: [%s, %s, %s]\n' \
    "$t" "${nodes[t % 3]}" "${nodes[0]}" "${nodes[1]}" "${nodes[2]}"
done >"$config"

for i in 0 1 2; do
  n=${nodes[i]}
  cmd=("$bin/token-replica" --config "$config" --listen "$n" --data-dir "$work/data-$i" --no-op-log)
  if ((i == 0)) && [[ $tool == callgrind ]]; then
    rm -f "$out"/callgrind.out*
    cmd=(valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" "${cmd[@]}")
  fi
  "${cmd[@]}" >"$work/r$i.out" 2>"$work/r$i.err" &
  pids+=($!)
done
# The replica's own pid (valgrind execs the tool in place, so $! is it in both cases).
for i in $(seq 1 300); do
  "$bin/token-bench" --config "$config" --workload write --ops 1 --warmup 0 --timeout 1 \
    >/dev/null 2>&1 && break
  sleep 0.2
done

if [[ $tool == callgrind ]]; then
  "$bin/token-bench" --config "$config" --workload "$workload" --clients "$clients" \
    --duration "$seconds" --warmup 5 --timeout 30 --json >"$out/bench.json" &
  bench_pid=$!
  sleep 5
  callgrind_control -z "${pids[0]}" >/dev/null
  wait "$bench_pid"
  callgrind_control -d "${pids[0]}" >/dev/null
  sleep 1
  dump=$(ls -t "$out"/callgrind.out* | head -1)
  python3 - "$out/bench.json" "$dump" <<'PY'
import json, re, sys
bench = json.load(open(sys.argv[1]))
ir = 0
for line in open(sys.argv[2]):
    m = re.match(r"(summary|totals): (\d+)", line)
    if m:
        ir = int(m.group(2))
ops = bench["ops"]
print(f"workload {bench['workload']}, {bench['clients']} clients, replica 0 under callgrind: "
      f"{ops} ops in {bench['seconds']:.1f} s, {bench['errors']} errors")
print(f"  replica 0: {ir / 1e6:.0f} M instructions, {ir / max(ops, 1) / 1e3:.0f} k per op "
      f"({sys.argv[2]})")
PY
  exit 0
fi

cpu_ticks() {  # utime + stime of a process, in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}
if [[ $tool == perf ]]; then
  perf record -e cpu-clock -g -o "$out/perf.data" -p "${pids[0]}" >/dev/null 2>&1 &
  perf_pid=$!
  sleep 1
fi
before=()
for p in "${pids[@]}"; do before+=("$(cpu_ticks "$p")"); done
start=$(date +%s.%N)
"$bin/token-bench" --config "$config" --workload "$workload" --clients "$clients" --ops "$ops" \
  --warmup 0 --json >"$out/bench.json"
end=$(date +%s.%N)
after=()
for p in "${pids[@]}"; do after+=("$(cpu_ticks "$p")"); done
if [[ $tool == perf ]]; then
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
fi

hz=$(getconf CLK_TCK)
python3 - "$out/bench.json" "$hz" "$start" "$end" "${before[@]}" "${after[@]}" <<'PY'
import json, sys
bench = json.load(open(sys.argv[1]))
hz, start, end = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ticks = list(map(int, sys.argv[5:]))
before, after = ticks[:3], ticks[3:]
# token-bench writes every token once before the measured ops.
ops = bench["ops"] + bench["errors"] + bench["tokens"]
used = [(a - b) / hz for a, b in zip(after, before)]
print(f"workload {bench['workload']}, {bench['clients']} clients: {ops} ops in {end - start:.1f} s "
      f"({bench['ops_per_s']:.0f} ops/s measured, p50 {bench['p50_ms']:.2f} ms, "
      f"p99 {bench['p99_ms']:.2f} ms, {bench['errors']} errors)")
if bench["errors"]:
    print(f"  errors: {bench.get('error_codes')} {bench.get('error_examples')}")
for i, u in enumerate(used):
    print(f"  replica {i}: {u:.2f} s CPU, {u / ops * 1e6:.0f} us per op")
print(f"  all replicas: {sum(used) / ops * 1e6:.0f} us CPU per op")
PY
