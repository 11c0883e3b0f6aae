"""A/B: gort at this tree against gort at another commit, in one run.

    python bench/ab.py --base f102c0f [--only spawn,pingpong,timers.churn,echo.throughput]
                       [--rounds 3] [--variants gort:chan,gort:chan-P2]

Checks the base commit out into a temporary git worktree, then runs
``bench/run.py --runtimes gort --repeat 1`` alternately on each tree
(A = this tree, B = base), ``--rounds`` times, so that both see the same
machine load.  Prints, per variant and metric, the median of the rounds on
each side and A/B as a ratio where > 1 means this tree is better.  The
benchmark code is this tree's on both sides (only PYTHONPATH differs).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _run(tree: str, only: str, out: str) -> dict:
    env = dict(os.environ, PYTHONPATH=tree)
    subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "--only", only,
                    "--runtimes", "gort", "--repeat", "1", "--json", out],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)


def _collect(doc: dict, into: dict, keep: set[str] | None) -> None:
    for case in doc["cases"]:
        better = {m["name"]: m.get("higher_is_better", True) for m in case["metrics"]}
        for vname, v in case["variants"].items():
            if keep and vname not in keep and f"{case['name']}/{vname}" not in keep:
                continue
            for metric, st in (v.get("stats") or {}).items():
                key = (case["name"], vname, metric)
                into.setdefault(key, (better.get(metric, True), []))[1].append(st["median"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the commit to compare with (B)")
    ap.add_argument("--only", default="spawn,pingpong,timers.churn,echo.throughput")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", default="", help="comma-separated variants to report")
    args = ap.parse_args()
    keep = set(filter(None, args.variants.split(","))) or None
    tmp = tempfile.mkdtemp(prefix="gort-ab-")
    base = os.path.join(tmp, "base")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", base, args.base],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    a: dict = {}
    b: dict = {}
    try:
        for r in range(args.rounds):
            for side, tree, into in (("A", ROOT, a), ("B", base, b)):
                out = os.path.join(tmp, f"{side}{r}.json")
                _collect(_run(tree, args.only, out), into, keep)
            print(f"round {r + 1}/{args.rounds} done, load {os.getloadavg()[0]:.1f}",
                  file=sys.stderr)
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", base], check=False)
    print(f"A = {ROOT} (this tree), B = {args.base}; medians of {args.rounds} alternating rounds")
    print(f"{'case/variant':44} {'metric':18} {'A':>12} {'B':>12} {'A vs B':>8}")
    for key in sorted(a):
        if key not in b:
            continue
        hib, av = a[key]
        bv = b[key][1]
        ma, mb = statistics.median(av), statistics.median(bv)
        ratio = (ma / mb if hib else mb / ma) if ma and mb else float("nan")
        print(f"{key[0] + '/' + key[1]:44} {key[2]:18} {ma:12,.0f} {mb:12,.0f} {ratio:8.2f}")


if __name__ == "__main__":
    main()
