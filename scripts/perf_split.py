#!/usr/bin/env python3
"""Splits `perf script` call stacks of one replica into where its CPU goes.

    perf script -i OUT/perf.data | scripts/perf_split.py [--ops N]

Each sample is put in the first category (in the order below) that one of its frames
matches, from the leaf up; --ops divides the sample counts by the operations of the run
(scripts/profile.sh prints them), giving samples per operation (one sample per 250 us of
CPU at perf's default 4 kHz cpu-clock).
"""
import argparse
import collections
import re
import subprocess
import sys

UNKNOWN = re.compile(r"^([0-9a-f]+) \[unknown\] \((/[^)]+)\)$")


def resolve(samples):
    """Names the frames perf left as [unknown] (it cannot read some binaries) with addr2line."""
    wanted = collections.defaultdict(set)
    for frames in samples:
        for f in frames:
            m = UNKNOWN.match(f)
            if m:
                wanted[m.group(2)].add(m.group(1))
    names = {}
    for dso, addrs in wanted.items():
        addrs = sorted(addrs)
        try:
            out = subprocess.run(["addr2line", "-f", "-C", "-e", dso] + ["0x" + a for a in addrs],
                                 capture_output=True, text=True, check=True).stdout.split("\n")
        except (OSError, subprocess.CalledProcessError):
            continue
        for i, a in enumerate(addrs):
            names[(a, dso)] = out[2 * i] + " (" + dso + ")"
    return [[names.get(UNKNOWN.match(f).group(1, 2), f) if UNKNOWN.match(f) else f
             for f in frames] for frames in samples]

# (category, regex on a frame's symbol or object). Checked per frame from the leaf upwards;
# a sample goes to the category of the first rule any of its frames matches, rules tried in
# this order, so "fsync under RocksDB" counts as fsync, not as RocksDB.
RULES = [
    ("fsync/fdatasync (kernel)", re.compile(r"fdatasync|fsync|ext4_sync_file|jbd2|blkdev_issue_flush")),
    ("rocksdb write-thread wait (spin/yield)", re.compile(r"WriteThread::AwaitState|sched_yield")),
    ("rocksdb (other)", re.compile(r"rocksdb::")),
    ("absl deadlock detection", re.compile(r"GraphCycles|DeadlockCheck|synchronization_internal")),
    ("sleep/wake (futex, scheduler)", re.compile(r"futex|__schedule|finish_task_switch|try_to_wake_up")),
    ("network syscalls (tcp, epoll)", re.compile(r"tcp_|sendmsg|recvmsg|epoll|sock_|__sys_send|__sys_recv|inet_|ip_|__x64_sys_write|__x64_sys_read")),
    ("protobuf", re.compile(r"google::protobuf|libprotobuf")),
    ("grpc", re.compile(r"grpc|libgrpc|libgpr|gpr_|libaddress_sorting|absl::")),
    ("malloc/free", re.compile(r"malloc|_int_free|cfree|operator new|operator delete|malloc_consolidate")),
    ("hashing (sha256)", re.compile(r"Sha256|MinHash|sha256", re.I)),
    ("token store code", re.compile(r"tokenstore::")),
    ("other kernel", re.compile(r"\[kernel")),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=0)
    args = ap.parse_args()
    samples = [[]]
    for line in sys.stdin:
        if not line.strip():
            if samples[-1]:
                samples.append([])
        elif line.startswith((" ", "\t")):
            samples[-1].append(line.strip())
    samples = resolve([s for s in samples if s])
    counts = collections.Counter()
    total = len(samples)
    for frames in samples:
        for name, rx in RULES:
            if any(rx.search(f) for f in frames):
                counts[name] += 1
                break
        else:
            counts["other"] += 1
    for name, _ in RULES + [("other", None)]:
        n = counts[name]
        per_op = f"  {n / args.ops:6.3f} per op" if args.ops else ""
        print(f"{name:42s} {n:7d} {100.0 * n / max(total, 1):5.1f} %{per_op}")
    per_op = f"  {total / args.ops:6.3f} per op" if args.ops else ""
    print(f"{'total':42s} {total:7d} 100.0 %{per_op}")


if __name__ == "__main__":
    main()
