#!/usr/bin/env bash
# The token store and etcd side by side, on this machine, over loopback.
#
#   scripts/bench.sh [--quick] [--out DIR] [--no-docs]
#
# Installs what is missing (scripts/bootstrap.sh; etcd-server and gnuplot-nox if absent),
# builds token-replica and token-bench with the release preset, then, one system at a time:
#   - a 3-replica token store (token-replica --no-op-log, RocksDB in a temporary directory,
#     BENCH_TOKENS tokens (default 16) whose writers are spread over the three nodes, every
#     node a reader of every token);
#   - a 3-member etcd cluster (default, durable settings: fsync on every commit), data in a
#     temporary directory;
# and runs the same closed-loop workloads against each: write, read, mixed (90 % reads) at 1,
# 16 and 64 clients (token-bench, one connection per client and node). Each point: a warm-up,
# then a measured period (20 s; --quick: 5 s, the whole run well under ten minutes).
#
# Writes DIR/results.json (one object per point: system, workload, clients, ops_per_s,
# p50_ms, p99_ms and more), DIR/raw.jsonl (token-bench's full output), DIR/hash.jsonl (the hash
# engine alone), DIR/table.md and DIR/benchmarks.png (when gnuplot is available). DIR defaults
# to build/bench. Unless --no-docs, also updates docs/bench-results.json, docs/benchmarks.png
# and the generated section of docs/benchmarks.md.
#
# BENCH_SECONDS and BENCH_CLIENTS ("1 16 64") override the measured seconds and the client
# counts, for a smoke test of the script itself.
#
# Ports (loopback only): BENCH_PORT_BASE (default 46000) + 51..53 for the token store,
# + 379..384 for etcd (client and peer). Everything it started is stopped when it ends, also
# on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

quick=0
out="$root/build/bench"
docs=1
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --out) [[ $# -ge 2 ]] || { echo "bench: --out needs a directory" >&2; exit 2; }; out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    --no-docs) docs=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown argument $1 (see scripts/bench.sh --help)" >&2; exit 2 ;;
  esac
  shift
done

if ((quick)); then seconds=5; warmup=1; else seconds=20; warmup=2; fi
seconds=${BENCH_SECONDS:-$seconds}
read -r -a clients_list <<<"${BENCH_CLIENTS:-1 16 64}"
workloads=(write read mixed)
tokens=${BENCH_TOKENS:-16}
base=${BENCH_PORT_BASE:-46000}

scripts/bootstrap.sh
apt_install() {  # apt_install PACKAGE...: as root or with sudo
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "bench: need root or sudo to install: $*" >&2; return 1; }
    sudo=(sudo)
  fi
  echo "bench: installing $*"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" \
    || { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
           "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"; }
}
command -v etcd >/dev/null || apt_install etcd-server
command -v gnuplot >/dev/null || apt_install gnuplot-nox || echo "bench: no gnuplot; no plot"

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target token-replica token-bench
bin="$root/build/release/bin"

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/tokenstore-bench.XXXXXX)
pids=()
stop_all() {  # TERM, then KILL after 5 s, everything started so far
  local p i
  ((${#pids[@]})) || return 0
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for i in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() {  # the servers' stderr is kept in DIR/logs for a look at errors
  stop_all
  mkdir -p "$out/logs"
  cp "$work"/*.err "$out/logs/" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "bench: interrupted; stopping everything"; exit 130' INT TERM

ours=(127.0.0.1:$((base + 51)) 127.0.0.1:$((base + 52)) 127.0.0.1:$((base + 53)))
etcd_client=($((base + 379)) $((base + 381)) $((base + 383)))
etcd_peer=($((base + 380)) $((base + 382)) $((base + 384)))
for port in "${ours[@]#*:}" "${etcd_client[@]}" "${etcd_peer[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "bench: port $port is in use; stop what listens there or set BENCH_PORT_BASE" >&2
    exit 1
  fi
done

machine="$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
etcd_version=$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p')
: >"$out/raw.jsonl"

# run_point SYSTEM WORKLOAD CLIENTS TARGET-ARGS...: one measurement, appended to raw.jsonl.
run_point() {
  local system=$1 workload=$2 clients=$3
  shift 3
  echo "bench: $system $workload, $clients clients (${warmup}s warm-up + ${seconds}s)"
  local line
  if line=$(timeout $((seconds * 3 + 60)) "$bin/token-bench" "$@" --workload "$workload" \
              --clients "$clients" --duration "$seconds" --warmup "$warmup" --json); then
    echo "$line" >>"$out/raw.jsonl"
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("       %.0f ops/s, p50 %.2f ms, p99 %.2f ms, %d errors" % (r["ops_per_s"], r["p50_ms"], r["p99_ms"], r["errors"]))' "$line"
  else
    echo "bench: $system $workload $clients clients FAILED (see above)" >&2
  fi
}

# wait_ready WHAT COMMAND...: retries COMMAND for up to 20 s.
wait_ready() {
  local what=$1 i
  shift
  for i in $(seq 1 100); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "bench: $what did not come up; logs in $work" >&2
  tail -n 20 "$work"/*.err >&2 || true
  exit 1
}

# --- the hash engine alone (context for the write figures) ---
echo "bench: hash engine, 1 and 2 threads"
"$bin/token-bench" hash --threads 1,2 --seconds 2 --json >"$out/hash.jsonl"

# --- token store ---
config="$work/cluster.yaml"
for ((t = 0; t < tokens; t++)); do
  printf -- '- token: %d\n  writer: %s\n  readers: [%s, %s, %s]\n' \
    "$t" "${ours[t % 3]}" "${ours[0]}" "${ours[1]}" "${ours[2]}"
done >"$config"
for n in "${ours[@]}"; do
  "$bin/token-replica" --config "$config" --listen "$n" --data-dir "$work/data-${n#*:}" \
    --no-op-log >"$work/replica-${n#*:}.out" 2>"$work/replica-${n#*:}.err" &
  pids+=($!)
done
wait_ready "the token store" "$bin/token-bench" --config "$config" --workload write --ops 1 \
  --warmup 0 --timeout 1
for w in "${workloads[@]}"; do
  for c in "${clients_list[@]}"; do run_point tokenstore "$w" "$c" --config "$config"; done
done
stop_all

# --- etcd ---
cluster=""
for i in 0 1 2; do cluster+="${cluster:+,}e$i=http://127.0.0.1:${etcd_peer[i]}"; done
for i in 0 1 2; do
  etcd --name "e$i" --data-dir "$work/etcd-$i" \
    --listen-client-urls "http://127.0.0.1:${etcd_client[i]}" \
    --advertise-client-urls "http://127.0.0.1:${etcd_client[i]}" \
    --listen-peer-urls "http://127.0.0.1:${etcd_peer[i]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${etcd_peer[i]}" \
    --initial-cluster "$cluster" --initial-cluster-state new \
    --initial-cluster-token "tokenstore-bench-$$" \
    --logger zap --log-level warn >"$work/etcd-$i.out" 2>"$work/etcd-$i.err" &
  pids+=($!)
done
endpoints=$(printf '127.0.0.1:%s,' "${etcd_client[@]}")
endpoints=${endpoints%,}
wait_ready "etcd" "$bin/token-bench" --etcd "$endpoints" --tokens "$tokens" --workload write \
  --ops 1 --warmup 0 --timeout 1
for w in "${workloads[@]}"; do
  for c in "${clients_list[@]}"; do
    run_point etcd "$w" "$c" --etcd "$endpoints" --tokens "$tokens"
  done
done
stop_all
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- results.json, table.md, plot ---
command="scripts/bench.sh$( ((quick)) && echo ' --quick')"
python3 - "$out" "$command" "$machine" "$started" "$commit" "$etcd_version" "$seconds" \
  "$warmup" "$tokens" "$load_before" "$load_after" <<'PY'
import json, sys
out, command, machine, started, commit, etcd_version, seconds, warmup, tokens, \
    load_before, load_after = sys.argv[1:]
raw = [json.loads(l) for l in open(f"{out}/raw.jsonl") if l.strip()]
keys = ["system", "workload", "clients", "ops_per_s", "p50_ms", "p99_ms", "p90_ms", "p999_ms",
        "max_ms", "errors", "error_codes", "error_examples", "seconds", "tokens", "range"]
results = [{k: r[k] for k in keys if k in r} for r in raw]
with open(f"{out}/results.json", "w") as f:
    json.dump(results, f, indent=1)
    f.write("\n")
hashes = [json.loads(l) for l in open(f"{out}/hash.jsonl") if l.strip()]

by = {(r["system"], r["workload"], r["clients"]): r for r in results}
rows = []
clients = sorted({r["clients"] for r in results})
for w in ["write", "read", "mixed"]:
    for c in clients:
        t, e = by.get(("tokenstore", w, c)), by.get(("etcd", w, c))
        ops = lambda r: f"{r['ops_per_s']:,.0f}" if r else "failed"
        lat = lambda r: f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}" if r else "—"
        ratio = f"{t['ops_per_s'] / e['ops_per_s']:.2f}×" if t and e and e["ops_per_s"] else "—"
        errs = [f"{s}: " + ", ".join(f"{n} {code}" for code, n in r.get("error_codes", {}).items())
                for s, r in (("tokenstore", t), ("etcd", e)) if r and r["errors"]]
        rows.append(f"| {w} | {c} | {ops(t)} | {ops(e)} | {ratio} | {lat(t)} | {lat(e)} | "
                    f"{', '.join(errs) or '0'} |")
mode = "quick: " if "--quick" in command else ""
lines = [
    f"Command: `{command}` ({mode}{warmup} s warm-up + {seconds} s measured per point, "
    f"{tokens} tokens/keys, range 16 per write, one gRPC connection per client and node).",
    f"Machine: {machine}; load average {load_before} before, {load_after} after "
    f"(the machine was shared; the load generator runs on the same cores as the servers).",
    f"Started {started}, commit `{commit}`, etcd {etcd_version}.",
    "",
    "| workload | clients | tokenstore ops/s | etcd ops/s | tokenstore / etcd | tokenstore p50 / p99 ms | etcd p50 / p99 ms | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
    *rows,
    "",
    "Hash engine alone (`token-bench hash --threads 1,2`): " + ", ".join(
        f"{h['threads']} thread{'s' if h['threads'] > 1 else ''} {h['hashes_per_s'] / 1e6:.1f} M hashes/s"
        for h in hashes) + (f" ({hashes[0]['sha256']})." if hashes else "."),
]
with open(f"{out}/table.md", "w") as f:
    f.write("\n".join(lines) + "\n")

with open(f"{out}/plot.dat", "w") as f:
    for i, w in enumerate(["write", "read", "mixed"]):
        f.write(f"# {w}: clients tokenstore etcd\n")
        for c in clients:
            t, e = by.get(("tokenstore", w, c)), by.get(("etcd", w, c))
            f.write(f"{c} {t['ops_per_s'] if t else 'NaN'} {e['ops_per_s'] if e else 'NaN'}\n")
        f.write("\n\n")
PY

if command -v gnuplot >/dev/null; then
  gnuplot <<EOF || echo "bench: gnuplot failed; no plot" >&2
set terminal pngcairo size 1200,420 font ",10"
set output "$out/benchmarks.png"
set multiplot layout 1,3 title "tokenstore vs etcd, 3 nodes on loopback, $(nproc) cores (${seconds} s per point)"
set logscale x 2
set xtics (1, 16, 64)
set xrange [0.8:80]
set yrange [0:*]
set xlabel "clients"
set ylabel "ops/s"
set key below
set grid
do for [i=0:2] {
  set title word("write read mixed(90%-reads)", i + 1)
  plot "$out/plot.dat" index i using 1:2 with linespoints lw 2 pt 7 title "tokenstore", \
       "" index i using 1:3 with linespoints lw 2 pt 5 title "etcd"
}
unset multiplot
EOF
fi

if ((docs)); then
  cp "$out/results.json" docs/bench-results.json
  [[ -f "$out/benchmarks.png" ]] && cp "$out/benchmarks.png" docs/benchmarks.png
  md=docs/benchmarks.md
  begin='<!-- bench.sh: begin generated section -->'
  end='<!-- bench.sh: end generated section -->'
  [[ -f $md ]] || printf '# Benchmarks\n\n%s\n%s\n' "$begin" "$end" >"$md"
  python3 - "$md" "$out/table.md" "$begin" "$end" <<'PY'
import sys
md, table, begin, end = sys.argv[1:]
text = open(md).read()
if begin not in text or end not in text:
    text = text.rstrip("\n") + f"\n\n{begin}\n{end}\n"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(md, "w").write(f"{head}{begin}\n{open(table).read()}{end}{tail}")
PY
  echo "bench: updated docs/bench-results.json, docs/benchmarks.md$([[ -f $out/benchmarks.png ]] && echo ', docs/benchmarks.png')"
fi
echo "bench: results in $out (results.json, table.md$([[ -f $out/benchmarks.png ]] && echo ', benchmarks.png'))"
cat "$out/table.md"
