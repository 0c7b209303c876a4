#!/usr/bin/env bash
# The token store and etcd side by side, on this machine, over loopback.
#
#   scripts/bench.sh [--quick] [--out DIR] [--no-docs] [--scale]
#
# Installs what is missing (scripts/bootstrap.sh; etcd-server and gnuplot-nox if absent),
# builds token-replica and token-bench with the release preset, measures the machine's floor
# first (`token-bench floor --json`: a synced RocksDB write, empty loopback gRPC round trips,
# and the floors of a write and a read at one client they give), then, one cluster at a time:
#   - a token store of 3, then of 5 replicas (token-replica --no-op-log, RocksDB in a
#     temporary directory, BENCH_TOKENS tokens (default 16) whose writers are spread over the
#     nodes, every node a reader of every token);
#   - an etcd cluster of 3, then of 5 members (default, durable settings: fsync on every
#     commit), data in a temporary directory;
# and runs the same closed-loop workloads against each (token-bench; one connection per node
# shared by all the clients: etcd as clientv3 does, the token store through the client
# library's session transport) at 1, 16 and 64 clients:
#   3 nodes: write, read, mixed (90 % reads), write-r10k (writes of range 10,000: hash-heavy),
#            mixed-cold (90 % reads, all of the last half of the tokens/keys, written once
#            before the warm-up and never since; writes of the other half: --cold-tokens),
#            and for the token store only write-unary and read-unary (one unary call per
#            operation, one connection per client and node: the transport before sessions)
#   5 nodes: write, read
# Each point: a warm-up, then a measured period (20 s; --quick: 5 s). 48 points: a --quick run
# takes about 6 minutes on two cores, build up to date; a full run about 20 minutes.
#
# Writes DIR/results.json ({"floor": token-bench floor's object, "points": one object per
# point: system, replicas, workload (the labels above), clients, ops_per_s, p50_ms, p99_ms and
# more}), DIR/raw.jsonl (token-bench's full output), DIR/floor.json, DIR/hash.jsonl (the hash
# engine alone), DIR/table.md and DIR/benchmarks.png (ops/s and p99 against clients, when
# gnuplot is available). DIR defaults to build/bench. Unless --no-docs, also updates
# docs/bench-results.json, docs/benchmarks.png and the generated section of docs/benchmarks.md.
#
# --scale: then the same mixed workload over a million tokens, uniform and Zipfian, next to
# 16 tokens in the same run, with memory, start and restart times (scripts/scale.sh, about 15
# more minutes: every token is written once first); its table goes to DIR/scale.md.
#
# BENCH_SECONDS and BENCH_CLIENTS ("1 16 64") override the measured seconds and the client
# counts, BENCH_FLOOR_SECONDS (2) the seconds per floor measure, for a smoke test of the script.
#
# Ports (loopback only): BENCH_PORT_BASE (default 46000) + 51..55 for the token store,
# + 379..388 for etcd (client and peer). Everything it started is stopped when it ends, also
# on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

quick=0
scale=0
out="$root/build/bench"
docs=1
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --out) [[ $# -ge 2 ]] || { echo "bench: --out needs a directory" >&2; exit 2; }; out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    --no-docs) docs=0 ;;
    --scale) scale=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown argument $1 (see scripts/bench.sh --help)" >&2; exit 2 ;;
  esac
  shift
done

if ((quick)); then seconds=5; warmup=1; else seconds=20; warmup=2; fi
seconds=${BENCH_SECONDS:-$seconds}
read -r -a clients_list <<<"${BENCH_CLIENTS:-1 16 64}"
floor_seconds=${BENCH_FLOOR_SECONDS:-2}
tokens=${BENCH_TOKENS:-16}
cold=$((tokens / 2))
# label -> token-bench arguments; the 5-node clusters run the first two only.
declare -A workload_args=(
  [write]="--workload write"
  [read]="--workload read"
  [mixed]="--workload mixed"
  [write-r10k]="--workload write --range 10000"
  [mixed-cold]="--workload mixed --cold-tokens $cold"
  [write-unary]="--workload write"
  [read-unary]="--workload read"
)
workloads3=(write read mixed write-r10k mixed-cold)
((cold > 0)) || workloads3=(write read mixed write-r10k)  # one token: nothing to split
workloads5=(write read)
# The token store only: the same operations as unary calls, one connection per client (how
# token-bench measured before the session transport), for the lever's effect.
unary3=(write-unary read-unary)
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

ours=()
etcd_client=()
etcd_peer=()
for i in 0 1 2 3 4; do
  ours+=(127.0.0.1:$((base + 51 + i)))
  etcd_client+=($((base + 379 + 2 * i)))
  etcd_peer+=($((base + 380 + 2 * i)))
done
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

# run_point SYSTEM REPLICAS LABEL CLIENTS TARGET-ARGS...: one measurement, appended to
# raw.jsonl with the system, the cluster size and the workload's label.
run_point() {
  local system=$1 replicas=$2 label=$3 clients=$4
  shift 4
  echo "bench: $system x$replicas $label, $clients clients (${warmup}s warm-up + ${seconds}s)"
  local line
  # shellcheck disable=SC2086  # the workload's arguments are words
  if line=$(timeout $((seconds * 3 + 60)) "$bin/token-bench" "$@" ${workload_args[$label]} \
              --clients "$clients" --duration "$seconds" --warmup "$warmup" --json); then
    python3 -c 'import json,sys
r = json.loads(sys.argv[1])
r.update(system=sys.argv[2], replicas=int(sys.argv[3]), workload=sys.argv[4])
print(json.dumps(r))' "$line" "$system" "$replicas" "$label" >>"$out/raw.jsonl"
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("       %.0f ops/s, p50 %.2f ms, p99 %.2f ms, %d errors" % (r["ops_per_s"], r["p50_ms"], r["p99_ms"], r["errors"]))' "$line"
  else
    echo "bench: $system x$replicas $label $clients clients FAILED (see above)" >&2
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

# --- the floor of this machine, first (nothing else of ours runs yet) ---
echo "bench: the floor (token-bench floor, ${floor_seconds}s per measure)"
if ! timeout $((floor_seconds * 20 + 60)) "$bin/token-bench" floor --json \
       --seconds "$floor_seconds" >"$out/floor.json"; then
  echo "bench: token-bench floor FAILED; results without the floor" >&2
  echo null >"$out/floor.json"
fi

# --- the hash engine alone (context for the write figures) ---
echo "bench: hash engine, 1 and 2 threads"
"$bin/token-bench" hash --threads 1,2 --seconds 2 --json >"$out/hash.jsonl"

# bench_tokenstore N WORKLOAD...: an N-replica token store, the workloads at every client count.
bench_tokenstore() {
  local n=$1 t i w c
  shift
  local nodes=("${ours[@]:0:n}")
  local config="$work/cluster-$n.yaml" readers
  readers=$(IFS=,; echo "${nodes[*]}")
  for ((t = 0; t < tokens; t++)); do
    printf -- '- token: %d\n  writer: %s\n  readers: [%s]\n' "$t" "${nodes[t % n]}" "${readers//,/, }"
  done >"$config"
  for i in "${nodes[@]}"; do
    "$bin/token-replica" --config "$config" --listen "$i" --data-dir "$work/data-$n-${i#*:}" \
      --no-op-log >"$work/replica-$n-${i#*:}.out" 2>"$work/replica-$n-${i#*:}.err" &
    pids+=($!)
  done
  wait_ready "the token store ($n replicas)" "$bin/token-bench" --config "$config" \
    --workload write --ops 1 --warmup 0 --timeout 1
  # One connection per node shared by all the clients, through the client library's session
  # transport; the -unary labels: raw unary calls, one connection per client and node.
  for w in "$@"; do
    for c in "${clients_list[@]}"; do
      if [[ $w == *-unary ]]; then
        run_point tokenstore "$n" "$w" "$c" --config "$config" --api unary --conns 0
      else
        run_point tokenstore "$n" "$w" "$c" --config "$config" --api session --conns 1
      fi
    done
  done
  stop_all
}

# bench_etcd N WORKLOAD...: an N-member etcd cluster, the workloads at every client count.
bench_etcd() {
  local n=$1 i w c cluster="" endpoints=""
  shift
  for ((i = 0; i < n; i++)); do cluster+="${cluster:+,}e$i=http://127.0.0.1:${etcd_peer[i]}"; done
  for ((i = 0; i < n; i++)); do
    etcd --name "e$i" --data-dir "$work/etcd-$n-$i" \
      --listen-client-urls "http://127.0.0.1:${etcd_client[i]}" \
      --advertise-client-urls "http://127.0.0.1:${etcd_client[i]}" \
      --listen-peer-urls "http://127.0.0.1:${etcd_peer[i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${etcd_peer[i]}" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token "tokenstore-bench-$$-$n" \
      --logger zap --log-level warn >"$work/etcd-$n-$i.out" 2>"$work/etcd-$n-$i.err" &
    pids+=($!)
    endpoints+="${endpoints:+,}127.0.0.1:${etcd_client[i]}"
  done
  wait_ready "etcd ($n members)" "$bin/token-bench" --etcd "$endpoints" --tokens "$tokens" \
    --workload write --ops 1 --warmup 0 --timeout 1
  for w in "$@"; do
    for c in "${clients_list[@]}"; do
      # One connection per member shared by all the clients, as clientv3 does.
      run_point etcd "$n" "$w" "$c" --etcd "$endpoints" --tokens "$tokens" --conns 1
    done
  done
  stop_all
}

bench_tokenstore 3 "${workloads3[@]}" "${unary3[@]}"
bench_tokenstore 5 "${workloads5[@]}"
bench_etcd 3 "${workloads3[@]}"
bench_etcd 5 "${workloads5[@]}"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- results.json, table.md, plot ---
command="scripts/bench.sh"
if ((quick)); then command+=" --quick"; fi  # not $(...): a failed (( )) there ends the script
python3 - "$out" "$command" "$machine" "$started" "$commit" "$etcd_version" "$seconds" \
  "$warmup" "$tokens" "$cold" "$load_before" "$load_after" "$(nproc)" <<'PY'
import json, sys
out, command, machine, started, commit, etcd_version, seconds, warmup, tokens, cold, \
    load_before, load_after, cores = sys.argv[1:]
raw = [json.loads(l) for l in open(f"{out}/raw.jsonl") if l.strip()]
keys = ["system", "replicas", "workload", "clients", "ops_per_s", "p50_ms", "p99_ms", "p90_ms",
        "p999_ms", "max_ms", "errors", "error_codes", "error_examples", "seconds", "tokens",
        "cold_tokens", "range", "read_ratio"]
points = [{k: r[k] for k in keys if k in r} for r in raw]
floor = json.load(open(f"{out}/floor.json"))
with open(f"{out}/results.json", "w") as f:
    json.dump({"floor": floor, "points": points}, f, indent=1)
    f.write("\n")
hashes = [json.loads(l) for l in open(f"{out}/hash.jsonl") if l.strip()]

labels = ["write", "read", "mixed", "write-r10k", "mixed-cold", "write-unary", "read-unary"]
by = {(r["system"], r["replicas"], r["workload"], r["clients"]): r for r in points}
clients = sorted({r["clients"] for r in points})
rows = []
for n in (3, 5):
    for w in labels:
        for c in clients:
            t, e = by.get(("tokenstore", n, w, c)), by.get(("etcd", n, w, c))
            if not t and not e:
                continue
            ops = lambda r: f"{r['ops_per_s']:,.0f}" if r else ("—" if w.endswith("-unary") else "failed")
            lat = lambda r: f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}" if r else "—"
            ratio = f"{t['ops_per_s'] / e['ops_per_s']:.2f}×" if t and e and e["ops_per_s"] else "—"
            errs = [f"{s}: " + ", ".join(f"{k} {code}" for code, k in r.get("error_codes", {}).items())
                    for s, r in (("tokenstore", t), ("etcd", e)) if r and r["errors"]]
            rows.append(f"| {w} | {n} | {c} | {ops(t)} | {ops(e)} | {ratio} | {lat(t)} | {lat(e)} | "
                        f"{', '.join(errs) or '0'} |")

def floor_lines():
    if not floor:
        return ["Floor: `token-bench floor` failed in this run (see its output above the table)."]
    m, fl = floor["measures"], floor["floors"]
    us = lambda x: f"{x:,.0f}"
    line = (
        f"Floor (`token-bench floor`, p50 µs): synced write {us(m['sync_write_1']['p50_us'])} "
        f"({us(m['sync_write_1']['ops_per_s'])} / {us(m['sync_write_2']['ops_per_s'])} / "
        f"{us(m['sync_write_8']['ops_per_s'])} writes/s with 1 / 2 / 8 writers); empty unary round "
        f"trip {us(m['unary_callback_1']['p50_us'])} (callback server) / "
        f"{us(m['unary_async_1']['p50_us'])} (async server); one message each way on an open "
        f"stream {us(m['stream_1']['p50_us'])}. Write floor (client round trip + peer round trip + "
        f"one synced write): {us(fl['unary']['write_us'])} unary, {us(fl['stream']['write_us'])} "
        f"stream; read floor (two round trips): {us(fl['unary']['read_us'])} unary, "
        f"{us(fl['stream']['read_us'])} stream.")
    ours = []
    for w, kind in (("write", "write_us"), ("read", "read_us")):
        t = by.get(("tokenstore", 3, w, 1))
        if t:
            p50 = t["p50_ms"] * 1000
            ours.append(f"{w} {t['p50_ms']:.2f} ms = {p50 / fl['unary'][kind]:.1f}× the unary floor, "
                        f"{p50 / fl['stream'][kind]:.1f}× the stream floor")
    if ours:
        line += " Ours at one client (3 replicas, p50): " + "; ".join(ours) + "."
    return [line]

mode = "quick: " if "--quick" in command else ""
lines = [
    f"Command: `{command}` ({mode}{warmup} s warm-up + {seconds} s measured per point, "
    f"{tokens} tokens/keys, range 16 per write unless named; one gRPC connection per node shared by "
    f"all the clients: etcd as clientv3 does, the token store through the client library's "
    f"session transport; the -unary rows: the token store with one unary call per operation and "
    f"one connection per client and node).",
    f"Machine: {machine}; load average {load_before} before, {load_after} after "
    f"(the machine was shared; the load generator runs on the same cores as the servers).",
    f"Started {started}, commit `{commit}`, etcd {etcd_version}.",
    "",
    *floor_lines(),
    "",
    "| workload | nodes | clients | tokenstore ops/s | etcd ops/s | tokenstore / etcd | tokenstore p50 / p99 ms | etcd p50 / p99 ms | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    *rows,
    "",
    f"write-r10k: writes of range 10,000 (hash-heavy). mixed-cold: 90 % reads, all of the last "
    f"{cold} tokens/keys, written once before the warm-up and never since; the writes go to the "
    f"other {int(tokens) - int(cold)} (`token-bench --cold-tokens {cold}`).",
    "",
    "Hash engine alone (`token-bench hash --threads 1,2`): " + ", ".join(
        f"{h['threads']} thread{'s' if h['threads'] > 1 else ''} {h['hashes_per_s'] / 1e6:.1f} M hashes/s"
        for h in hashes) + (f" ({hashes[0]['sha256']})." if hashes else "."),
]
with open(f"{out}/table.md", "w") as f:
    f.write("\n".join(lines) + "\n")

# The plot: one column per workload, ops/s above and p99 below, against clients; tokenstore
# and etcd, solid lines for 3 nodes and dashed for 5.
series = [("tokenstore", 3), ("etcd", 3), ("tokenstore", 5), ("etcd", 5)]
shown = [w for w in labels if any(k[2] == w for k in by)]
with open(f"{out}/plot.dat", "w") as f:
    for w in shown:
        f.write(f"# {w}: clients, ops/s of " + ", ".join(f"{s} x{n}" for s, n in series) +
                ", then p99 ms of the same\n")
        for c in clients:
            cells = [by.get((s, n, w, c)) for s, n in series]
            f.write(" ".join([str(c)] + [str(r["ops_per_s"]) if r else "NaN" for r in cells] +
                             [str(r["p99_ms"]) if r else "NaN" for r in cells]) + "\n")
        f.write("\n\n")
style = {"tokenstore": "lc rgb '#1f77b4' pt 7", "etcd": "lc rgb '#d62728' pt 5"}
gp = [
    f"set terminal pngcairo size {max(2, len(shown)) * 400},900 font ',10'",
    f"set output '{out}/benchmarks.png'",
    f"set multiplot layout 2,{len(shown)} title 'tokenstore vs etcd on loopback, {cores} cores "
    f"({seconds} s per point): ops/s and p99 against clients (x axis); solid: 3 nodes, dashed: 5 "
    f"nodes'",
    "set logscale x 2",
    "set xtics (" + ", ".join(str(c) for c in clients) + ")",
    f"set xrange [{clients[0] * 0.8 if clients else 0.8}:{clients[-1] * 1.25 if clients else 80}]",
    "unset xlabel", "set key below", "set grid",
]
for row, (ylabel, first) in enumerate((("ops/s", 1), ("p99 ms", 5))):
    gp += [f"set ylabel '{ylabel}'"]
    gp += ["unset logscale y", "set yrange [0:*]"] if row == 0 else ["set logscale y", "set yrange [*:*]"]
    for i, w in enumerate(shown):
        curves = []
        for j, (s, n) in enumerate(series):
            if any(by.get((s, n, w, c)) for c in clients):
                curves.append(f"'{out}/plot.dat' index {i} using 1:{first + 1 + j} with linespoints "
                              f"lw 2 {style[s]} dt {1 if n == 3 else 2} title '{s} x{n}'")
        gp += [f"set title '{w}'", "plot " + ", ".join(curves) if curves else "plot NaN notitle"]
gp.append("unset multiplot")
with open(f"{out}/plot.gp", "w") as f:
    f.write("\n".join(gp) + "\n")
PY

if command -v gnuplot >/dev/null; then
  gnuplot "$out/plot.gp" || echo "bench: gnuplot failed; no plot" >&2
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
if ((scale)); then
  echo "bench: a million tokens (scripts/scale.sh)"
  scripts/scale.sh | tee "$out/scale.log"
  sed -n '/^| measure/,$p' "$out/scale.log" >"$out/scale.md"
fi
