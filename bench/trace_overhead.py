"""What the execution tracer's hooks cost while tracing is off.

    python bench/trace_overhead.py [--rounds 200000] [--runs 7]

gort/sched/proc.py calls the tracer through ``if _trace is not None:`` at each
hook.  This script copies the gort package to a temporary directory, strips
every such hook from the copy's proc.py, and runs the same unbuffered
channel ping-pong against both packages, alternating, each run in a fresh
interpreter.  It prints the medians and the difference (issue 8's target:
< 5%).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PINGPONG = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import gort
N = int(sys.argv[2])
def main():
    a, b = gort.chan(), gort.chan()
    def pong():
        for _ in range(N):
            b.send(a.recv())
    gort.go(pong)
    t = time.perf_counter()
    for i in range(N):
        a.send(i)
        b.recv()
    return (time.perf_counter() - t) / N * 1e9
assert gort.__file__.startswith(sys.argv[1]), gort.__file__
print(gort.run(main))
"""

HOOK = re.compile(r"^(?P<ind>[ \t]*)if _trace is not None:\n(?P=ind)[ \t]+_trace\.[^\n]*\n",
                  re.M)


def stripped_copy(dst: str) -> int:
    shutil.copytree(os.path.join(ROOT, "gort"), os.path.join(dst, "gort"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    p = os.path.join(dst, "gort", "sched", "proc.py")
    src = open(p).read()
    out, n = HOOK.subn("", src)
    with open(p, "w") as f:
        f.write(out)
    return n


def run(path: str, rounds: int) -> float:
    r = subprocess.run([sys.executable, "-c", PINGPONG, path, str(rounds)],
                       capture_output=True, text=True, check=True)
    return float(r.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        n = stripped_copy(tmp)
        with_hooks, without = [], []
        for _ in range(args.runs):
            with_hooks.append(run(ROOT, args.rounds))
            without.append(run(tmp, args.rounds))
    a, b = statistics.median(with_hooks), statistics.median(without)
    print(f"unbuffered ping-pong, {args.rounds:,} round trips, median of {args.runs} runs each")
    print(f"  gort as shipped (tracer hooks present, tracing off): {a:,.0f} ns/round trip")
    print(f"  the same with its {n} hooks stripped from proc.py:    {b:,.0f} ns/round trip")
    print(f"  cost of the hooks while off: {100 * (a - b) / b:+.1f}%")


if __name__ == "__main__":
    main()
