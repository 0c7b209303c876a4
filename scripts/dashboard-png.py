#!/usr/bin/env python3
"""Render docs/grafana-dashboard.json's panels to a PNG from a recorded scrape, with gnuplot.

Grafana is not installable here, so this draws the dashboard's own queries instead:

  scripts/dashboard-png.py record OUT.jsonl   # 3-node cluster on 127.0.0.1, token-bench load,
                                              # one node killed and restarted, /metrics of
                                              # every node scraped once a second
  scripts/dashboard-png.py render OUT.jsonl docs/grafana-dashboard.png
  scripts/dashboard-png.py selftest docs/grafana-dashboard.json   # the PromQL subset, checked

`render` evaluates each panel's PromQL expression (the subset the dashboard uses: selectors
with = and != matchers, rate(), sum by (), histogram_quantile(), + - * / between vectors with
the same labels and with numbers) at every scrape instant, with $__rate_interval as 5s, and
plots the panels in the dashboard's 3x3 grid. State-timeline panels are drawn as step lines.
Addresses in legends are shortened to n1..n3 (a node's gRPC and metrics addresses alike).
"""
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

RATE_INTERVAL = 5.0  # seconds: Grafana's $__rate_interval for a 1 s scrape is about 4-5 s

# ---------------------------------------------------------------- recording


def record(out_path, bin_dir="build/dev/bin", seconds=70, base_port=47000):
    nodes = [f"127.0.0.1:{base_port + i}" for i in range(1, 4)]
    metrics = [f"127.0.0.1:{base_port + 100 + i}" for i in range(1, 4)]
    work = tempfile.mkdtemp(prefix="tokenstore-dash-")
    config = os.path.join(work, "cluster.yaml")
    with open(config, "w") as f:
        for t in range(1, 7):
            f.write(f"- token: {t}\n  writer: {nodes[(t - 1) % 3]}\n"
                    f"  readers: [{', '.join(nodes)}]\n")
    procs = [None] * 3

    def start(i, first):
        argv = [os.path.join(bin_dir, "token-replica"), "--config", config, "--listen", nodes[i],
                "--data-dir", os.path.join(work, f"data{i}"), "--metrics-listen", metrics[i],
                "--no-op-log"]
        if first:
            argv.append("--new-cluster")
        err = open(os.path.join(work, f"err{i}"), "a")
        procs[i] = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)

    def ready(i):
        try:
            with urllib.request.urlopen(f"http://{metrics[i]}/readyz", timeout=1) as r:
                return r.status == 200
        except Exception:
            return False

    bench = None
    try:
        for i in range(3):
            start(i, True)
        deadline = time.time() + 30
        while not all(ready(i) for i in range(3)):
            if time.time() > deadline:
                raise SystemExit("the cluster did not become ready; logs in " + work)
            time.sleep(0.2)
        t0 = time.time()
        events = {5: "bench", 25: "kill", 40: "restart"}
        done = set()
        with open(out_path, "w") as out:
            for tick in range(seconds + 1):
                while time.time() < t0 + tick:
                    time.sleep(0.01)
                for when, what in events.items():
                    if tick >= when and what not in done:
                        done.add(what)
                        if what == "bench":
                            bench = subprocess.Popen(
                                [os.path.join(bin_dir, "token-bench"), "--config", config,
                                 "--clients", "4", "--duration", str(seconds - when - 5),
                                 "--warmup", "0", "--timeout", "2"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        elif what == "kill":
                            procs[2].send_signal(signal.SIGKILL)
                            procs[2].wait()
                        elif what == "restart":
                            start(2, False)
                        out.write(json.dumps({"t": tick, "event": what}) + "\n")
                for i in range(3):
                    try:
                        with urllib.request.urlopen(f"http://{metrics[i]}/metrics",
                                                    timeout=0.5) as r:
                            text = r.read().decode()
                    except Exception:
                        continue  # down: no sample, as Prometheus records a failed scrape
                    out.write(json.dumps({"t": round(time.time() - t0, 3),
                                          "instance": metrics[i], "text": text}) + "\n")
        out_names = {"nodes": nodes, "metrics": metrics}
        with open(out_path, "a") as out:
            out.write(json.dumps({"names": out_names}) + "\n")
    finally:
        if bench:
            bench.wait(timeout=60)
        for p in procs:
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
    print(f"recorded {out_path}; node logs in {work}")


# ---------------------------------------------------------------- data


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_text(text, instance):
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            continue
        labels = dict(LABEL.findall(m.group(3) or ""))
        labels["instance"] = instance
        labels["job"] = "tokenstore"
        v = m.group(4)
        value = math.inf if v == "+Inf" else float(v)
        series[(m.group(1), tuple(sorted(labels.items())))] = value
    return series


class Recording:
    def __init__(self, path=None):
        self.scrapes = {}  # instance -> [(t, {(name, labels): value})]
        self.events = []
        self.names = {}
        self.end = 0
        if path is None:
            return
        with open(path) as f:
            for line in f:
                o = json.loads(line)
                if "event" in o:
                    self.events.append((o["t"], o["event"]))
                elif "names" in o:
                    self.names = o["names"]
                else:
                    self.scrapes.setdefault(o["instance"], []).append(
                        (o["t"], parse_text(o["text"], o["instance"])))
        self.end = max(t for s in self.scrapes.values() for t, _ in s)

    def at(self, instance, t, lookback=1.5):
        """The latest scrape of `instance` at or before t, if not older than `lookback`."""
        best = None
        for ts, data in self.scrapes[instance]:
            if ts <= t + 1e-9:
                best = (ts, data)
        if best and t - best[0] <= lookback:
            return best[1]
        return None

    def window(self, instance, t, seconds):
        return [(ts, d) for ts, d in self.scrapes[instance] if t - seconds < ts <= t + 1e-9]


# ---------------------------------------------------------------- a PromQL subset

TOKEN = re.compile(r'\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<id>[a-zA-Z_:][a-zA-Z0-9_:]*)|'
                   r'(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>!=|==|[-+*/(){}\[\],=]))')


def tokenize(s):
    s = s.replace("$__rate_interval", f"{int(RATE_INTERVAL)}s")
    out, i = [], 0
    while i < len(s):
        if s[i:].strip() == "":
            break
        m = TOKEN.match(s, i)
        if not m:
            raise ValueError(f"cannot parse {s[i:]!r}")
        kind = m.lastgroup
        text = m.group(kind)
        out.append((kind, text))
        i = m.end()
    return out


class Parser:
    def __init__(self, text):
        self.toks = tokenize(text)
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, text=None):
        kind, t = self.peek()
        if text is not None and t != text:
            raise ValueError(f"expected {text!r}, got {t!r}")
        self.i += 1
        return t

    def parse(self):
        e = self.expr()
        if self.i != len(self.toks):
            raise ValueError(f"trailing input at {self.peek()}")
        return e

    def expr(self):
        e = self.term()
        while self.peek()[1] in ("+", "-"):
            e = ("bin", self.take(), e, self.term())
        return e

    def term(self):
        e = self.unary()
        while self.peek()[1] in ("*", "/"):
            e = ("bin", self.take(), e, self.unary())
        return e

    def unary(self):
        kind, t = self.peek()
        if kind == "num":
            self.take()
            return ("num", float(t))
        if t == "(":
            self.take()
            e = self.expr()
            self.take(")")
            return e
        if t == "sum":
            self.take()
            self.take("by")
            self.take("(")
            by = []
            while self.peek()[1] != ")":
                by.append(self.take())
                if self.peek()[1] == ",":
                    self.take()
            self.take(")")
            self.take("(")
            e = self.expr()
            self.take(")")
            return ("sum", tuple(by), e)
        if t == "rate":
            self.take()
            self.take("(")
            sel = self.selector()
            self.take("[")
            dur = self.take()
            unit = self.take()
            assert unit == "s", "durations in seconds only"
            self.take("]")
            self.take(")")
            return ("rate", sel, float(dur))
        if t == "histogram_quantile":
            self.take()
            self.take("(")
            q = float(self.take())
            self.take(",")
            e = self.expr()
            self.take(")")
            return ("hq", q, e)
        return self.selector()

    def selector(self):
        name = self.take()
        matchers = []
        if self.peek()[1] == "{":
            self.take()
            while self.peek()[1] != "}":
                label = self.take()
                op = self.take()
                value = json.loads(self.take())
                matchers.append((label, op, value))
                if self.peek()[1] == ",":
                    self.take()
            self.take("}")
        return ("sel", name, tuple(matchers))


def matches(labels, matchers):
    d = dict(labels)
    for label, op, value in matchers:
        if op == "=" and d.get(label, "") != value:
            return False
        if op == "!=" and d.get(label, "") == value:
            return False
    return True


def evaluate(node, rec, t):
    """An instant vector {labels tuple: value}, or a float for a number."""
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "sel":
        _, name, matchers = node
        out = {}
        for inst in rec.scrapes:
            data = rec.at(inst, t)
            if data is None:
                continue
            for (n, labels), v in data.items():
                if n == name and matches(labels, matchers):
                    out[labels] = v
        return out
    if kind == "rate":
        _, (_, name, matchers), seconds = node
        out = {}
        for inst in rec.scrapes:
            points = {}
            for ts, data in rec.window(inst, t, seconds):
                for (n, labels), v in data.items():
                    if n == name and matches(labels, matchers):
                        points.setdefault(labels, []).append((ts, v))
            for labels, pts in points.items():
                if len(pts) < 2:
                    continue
                increase = 0.0
                for (_, a), (_, b) in zip(pts, pts[1:]):
                    increase += b - a if b >= a else b  # a counter reset starts from 0
                out[labels] = increase / (pts[-1][0] - pts[0][0])
        return out
    if kind == "sum":
        _, by, e = node
        out = {}
        for labels, v in evaluate(e, rec, t).items():
            key = tuple((k, v2) for k, v2 in labels if k in by)
            out[key] = out.get(key, 0.0) + v
        return out
    if kind == "hq":
        _, q, e = node
        groups = {}
        for labels, v in evaluate(e, rec, t).items():
            d = dict(labels)
            le = float(d.pop("le"))
            groups.setdefault(tuple(sorted(d.items())), []).append((le, v))
        out = {}
        for key, buckets in groups.items():
            buckets.sort()
            total = buckets[-1][1]
            if total <= 0 or not math.isinf(buckets[-1][0]):
                continue  # no observations in the window: Prometheus gives NaN
            rank = q * total
            prev_le, prev_count = 0.0, 0.0
            for le, count in buckets:
                if count >= rank:
                    if math.isinf(le):
                        out[key] = prev_le  # the highest finite bound
                    else:
                        span = count - prev_count
                        out[key] = prev_le + (le - prev_le) * ((rank - prev_count) / span
                                                               if span > 0 else 1)
                    break
                prev_le, prev_count = le, count
        return out
    if kind == "bin":
        _, op, a, b = node
        va, vb = evaluate(a, rec, t), evaluate(b, rec, t)
        f = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
             "/": lambda x, y: x / y if y != 0 else math.nan}[op]
        if isinstance(va, float) and isinstance(vb, float):
            return f(va, vb)
        if isinstance(va, float):
            return {k: f(va, v) for k, v in vb.items()}
        if isinstance(vb, float):
            return {k: f(v, vb) for k, v in va.items()}
        return {k: f(va[k], vb[k]) for k in va if k in vb}
    raise ValueError(kind)


# ---------------------------------------------------------------- rendering


def short_names(rec):
    names = {}
    for key in ("nodes", "metrics"):
        for i, addr in enumerate(rec.names.get(key, [])):
            names[addr] = f"n{i + 1}"
    return names


def legend(fmt, labels, names):
    d = {k: names.get(v, v) for k, v in labels}
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: d.get(m.group(1), ""), fmt)


def render(rec_path, dashboard_path, png_path):
    rec = Recording(rec_path)
    with open(dashboard_path) as f:
        dash = json.load(f)
    names = short_names(rec)
    times = [t for t in range(0, int(rec.end) + 1)]
    work = tempfile.mkdtemp(prefix="tokenstore-dash-render-")
    panels = sorted(dash["panels"], key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))
    script = [
        "set terminal pngcairo size 1800,1250 font 'DejaVu Sans,9'",
        f"set output '{png_path}'",
        "set multiplot layout 3,3 title \"tokenstore dashboard (docs/grafana-dashboard.json) - "
        "gnuplot rendering of its queries over a recorded 1 s scrape: 3 nodes, token-bench "
        "from t=5 s, n3 killed at t=25 s and restarted at t=40 s\" font ',11'",
        "set key below font ',8' maxrows 4",
        "set grid",
        "set xlabel 'seconds'",
        f"set xrange [0:{times[-1]}]",
    ]
    for p in panels:
        unit = p["fieldConfig"]["defaults"].get("unit", "none")
        series = {}  # legend -> [(t, v)]
        for target in p["targets"]:
            ast = Parser(target["expr"]).parse()
            for t in times:
                result = evaluate(ast, rec, t)
                if isinstance(result, float):
                    result = {(): result}
                for labels, v in result.items():
                    if math.isnan(v):
                        continue
                    series.setdefault(legend(target["legendFormat"], labels, names), []).append(
                        (t, v))
        files = []
        for k, (name, pts) in enumerate(sorted(series.items())):
            path = os.path.join(work, f"p{p['id']}_{k}.dat")
            with open(path, "w") as f:
                last = None
                for t, v in pts:
                    if last is not None and t - last > 1.5:
                        f.write("\n")  # a gap: no sample (node down)
                    f.write(f"{t} {v}\n")
                    last = t
            files.append((name, path))
        script.append(f"set title \"{p['title']}\"")
        script.append("unset ytics; set ytics; unset logscale y; set yrange [*:*]; set format y '%g'")
        mappings = p["fieldConfig"]["defaults"].get("mappings")
        style = "lines lw 1.5"
        if p["type"] == "state-timeline" and mappings:
            opts = mappings[0]["options"]
            tics = ", ".join(f"\"{o['text']}\" {v}" for v, o in sorted(opts.items()))
            script.append(f"set ytics ({tics})")
            lo, hi = min(int(v) for v in opts), max(int(v) for v in opts)
            script.append(f"set yrange [{lo - 0.3}:{hi + 0.5}]")
            style = "steps lw 2"
        elif unit == "s":
            script.append("set format y '%.3gs'")
        elif unit == "bytes":
            script.append("set format y '%.1s%cB'")
        elif unit == "percentunit":
            script.append("set format y '%.0f%%'")
        if not files:
            script.append("plot NaN title 'no data'")
            continue
        plots = []
        n = len(files)
        for k, (name, path) in enumerate(files):
            if p["type"] == "state-timeline":
                # Series of a timeline would overlap: each is nudged by a little.
                offset = (k - (n - 1) / 2) * 0.04
                using = f"1:($2+{offset:.3f})"
            elif unit == "percentunit":
                using = "1:($2*100)"
            else:
                using = "1:2"
            plots.append(f"'{path}' using {using} with {style} title \"{name}\"")
        script.append("plot " + ", ".join(plots))
    script.append("unset multiplot")
    gp = os.path.join(work, "dashboard.gp")
    with open(gp, "w") as f:
        f.write("\n".join(script) + "\n")
    subprocess.run(["gnuplot", gp], check=True)
    print(f"wrote {png_path} (gnuplot script {gp})")


def selftest(dashboard_path):
    """Checks the PromQL subset on made-up scrapes, and that every panel's query parses and
    evaluates. Needs neither gnuplot nor a cluster (a CTest test runs it)."""
    def scrapes(instance, rows):
        # rows: [(t, text)]
        return [(t, parse_text(text, instance)) for t, text in rows]

    rec = Recording()
    a = []
    for t, (c, b1, b2, binf, serving) in enumerate(
            [(0, 0, 0, 0, 0), (10, 50, 100, 100, 1), (20, 100, 200, 200, 1), (5, 150, 300, 300, 1),
             (15, 200, 400, 400, 1), (25, 250, 500, 600, 1)]):
        a.append((float(t), f"""# a comment
ops_total{{op="read",code="OK"}} {c}
lat_bucket{{op="read",le="0.1"}} {b1}
lat_bucket{{op="read",le="0.2"}} {b2}
lat_bucket{{op="read",le="+Inf"}} {binf}
tokenstore_node_state{{state="serving"}} {serving}
tokenstore_node_state{{state="starting"}} {1 - serving}
"""))
    rec.scrapes["i1:1"] = scrapes("i1:1", a)
    rec.end = 5.0

    def ev(expr, t):
        return evaluate(Parser(expr).parse(), rec, t)

    failures = []

    def check(what, got, want):
        if not (abs(got - want) < 1e-9):
            failures.append(f"{what}: got {got}, want {want}")

    # Over (1, 5]: 20, 5, 15, 25 at t = 2..5; the reset (20 -> 5) counts from 0: 5 + 10 + 10
    # in 3 s.
    r = ev("rate(ops_total[4s])", 5.0)
    check("rate with a reset", next(iter(r.values())), (5 + 10 + 10) / 3)
    r = ev("rate(ops_total[2s])", 2.0)
    check("rate", next(iter(r.values())), 10.0)
    # Per second over (1, 2]: le=0.1 50, le=0.2 100, +Inf 100.
    q = ev("histogram_quantile(0.5, sum by (le, op) (rate(lat_bucket[2s])))", 2.0)
    check("p50 in the first bucket", next(iter(q.values())), 0.1)
    q = ev("histogram_quantile(0.75, sum by (le, op) (rate(lat_bucket[2s])))", 2.0)
    check("p75 interpolated", next(iter(q.values())), 0.15)
    # Over (4, 5]: 50, 100, 200: the p99 falls above the last bound.
    q = ev("histogram_quantile(0.99, sum by (le, op) (rate(lat_bucket[2s])))", 5.0)
    check("p99 in +Inf is the highest bound", next(iter(q.values())), 0.2)
    state = ev('sum by (instance) (tokenstore_node_state{state="serving"}) * 3 + '
               'sum by (instance) (tokenstore_node_state{state="starting"})', 0.0)
    check("state starting", state[(("instance", "i1:1"),)], 1.0)
    state = ev('sum by (instance) (tokenstore_node_state{state="serving"}) * 3 + '
               'sum by (instance) (tokenstore_node_state{state="starting"})', 3.0)
    check("state serving", state[(("instance", "i1:1"),)], 3.0)
    check("no sample after the lookback", len(ev("ops_total", 9.0)), 0)
    check("!= matcher", len(ev('ops_total{code!="OK"}', 3.0)), 0)

    with open(dashboard_path) as f:
        dash = json.load(f)
    for p in dash["panels"]:
        for target in p["targets"]:
            try:
                evaluate(Parser(target["expr"]).parse(), rec, 3.0)
            except Exception as e:  # noqa: BLE001 - report which query
                failures.append(f"panel {p['title']!r}: {target['expr']}: {e}")
    for f in failures:
        print("FAIL", f)
    print(f"{1 if not failures else 0} passed, {1 if failures else 0} failed")
    sys.exit(1 if failures else 0)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "selftest":
        selftest(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "record":
        record(sys.argv[2], *(sys.argv[3:4]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "render":
        dashboard = sys.argv[4] if len(sys.argv) > 4 else "docs/grafana-dashboard.json"
        render(sys.argv[2], dashboard, sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
