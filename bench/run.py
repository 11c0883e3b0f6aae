"""Run gort's benchmarks against gevent, asyncio (default loop and uvloop),
trio and raw greenlet, in one run, and print one table.

    python bench/run.py [--quick] [--only NAME,...] [--runtimes gort,gevent,...]
                        [--repeat N] [--json PATH] [--list]

Every variant of every case runs in a fresh interpreter (a subprocess of this
same Python), N times (default 5; --quick: 1, with smaller sizes).  The
repeats are interleaved -- round 1 of every variant, then round 2 -- so a
burst of noise on the machine spreads over all runtimes instead of landing
on one.  The table shows the median with min and max, and "gort is": how
many times better the case's first gort variant is than that row (> 1:
gort wins; for the raw-greenlet floor it is < 1 by nature).  Targets from
the issues are checked at the end of each case.  Results also go to
bench/results/<date>-<time>-<host>.json.

Cases live in bench/cases/, one module per topic, each runtime's version of
a case side by side; bench/harness.py is the small framework they use.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    BENCH_DIR,
    RESULT_MARK,
    Case,
    Metric,
    Target,
    child_main,
    load_cases,
)

RUNTIMES = ["gort", "gevent", "asyncio", "uvloop", "trio", "greenlet"]
PACKAGES = ["gort", "greenlet", "gevent", "uvloop", "trio", "psutil"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smaller sizes, 1 repeat (unless --repeat), echo for ~2 s")
    ap.add_argument("--only", default="",
                    help="comma-separated case names or prefixes (spawn, mutex, timers.churn...)")
    ap.add_argument("--runtimes", default="",
                    help=f"comma-separated runtimes to run (of {', '.join(RUNTIMES)})")
    ap.add_argument("--repeat", type=int, default=None, help="runs per variant (default 5)")
    ap.add_argument("--json", default=None, help="where to write the results "
                    "(default bench/results/<date>-<time>-<host>.json)")
    ap.add_argument("--list", action="store_true", help="list cases and variants, then exit")
    ap.add_argument("--child", nargs=3, metavar=("CASE", "VARIANT", "PROFILE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 5
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    return args


def select_cases(cases: list[Case], only: str) -> list[Case]:
    if not only:
        return cases
    names = [n.strip() for n in only.split(",") if n.strip()]
    chosen = [c for c in cases
              if any(c.name.startswith(n) for n in names)]
    unknown = [n for n in names
               if not any(c.name.startswith(n) for c in cases)]
    if unknown:
        raise SystemExit(f"bench: no case matches {', '.join(unknown)}; "
                         f"cases: {', '.join(c.name for c in cases)}")
    return chosen


# ---------------------------------------------------------------------------
# Running one variant in a fresh interpreter


def run_child(case: Case, key: str, profile: str) -> dict[str, Any]:
    timeout = case.timeout if profile == "full" else case.timeout / 4
    cmd = [sys.executable, os.path.join(BENCH_DIR, "run.py"), "--child", case.name, key, profile]
    t0 = time.perf_counter()
    # A session of its own, so a timeout can end the child and any server it started.
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return {"status": f"timeout (> {timeout:.0f} s)", "wall": timeout}
    wall = time.perf_counter() - t0
    for line in reversed(out.splitlines()):
        if line.startswith(RESULT_MARK):
            res = json.loads(line[len(RESULT_MARK):])
            res["wall"] = wall
            if res["status"].startswith("error"):
                res["stderr"] = err[-2000:]
            return res
    return {"status": f"error: child exited {p.returncode} without a result",
            "stderr": err[-2000:], "wall": wall}


# ---------------------------------------------------------------------------
# Statistics and the table


def summarize(case: Case, runs: list[dict]) -> dict[str, Any]:
    ok = [r["metrics"] for r in runs if r["status"] == "ok"]
    summary: dict[str, Any] = {"runs": len(runs), "ok": len(ok)}
    if not ok:
        statuses = sorted({r["status"] for r in runs})
        summary["status"] = statuses[0] if len(statuses) == 1 else "; ".join(statuses)
        return summary
    summary["status"] = "ok" if len(ok) == len(runs) else f"ok {len(ok)}/{len(runs)}"
    stats = {}
    for m in case.metrics:
        vals = [r[m.name] for r in ok if r.get(m.name) is not None]
        if vals:
            stats[m.name] = {"median": statistics.median(vals), "min": min(vals),
                             "max": max(vals), "values": vals}
    summary["stats"] = stats
    return summary


def goodness(m: Metric, gort_v: float, other_v: float) -> float | None:
    """How many times better gort is than other on metric m (> 1: gort wins)."""
    if not gort_v or not other_v:
        return None
    return gort_v / other_v if m.higher_is_better else other_v / gort_v


def median_of(summary: dict | None, metric: str) -> float | None:
    if not summary:
        return None
    st = summary.get("stats", {}).get(metric)
    return st["median"] if st else None


def render_case(case: Case, size: Any, results: dict[str, dict]) -> list[str]:
    prim = case.metrics[0]
    extras = case.metrics[1:]
    base = case.primary_gort()
    base_sum = results.get(base.key) if base else None
    title = case.title.format(n=size) if isinstance(size, int) else case.title
    better = "higher" if prim.higher_is_better else "lower"
    lines = [f"{case.name}: {title}  [{prim.unit}, {better} is better]"]
    head = ["variant", "median", "min", "max", "gort is"]
    for m in extras:
        head.append(f"{m.name} ({m.unit})")
    rows = [head]
    for v in case.variants:
        s = results.get(v.key)
        if s is None:
            continue
        st = s.get("stats", {})
        if prim.name not in st:
            rows.append([v.key, s["status"]] + [""] * (len(head) - 2))
            continue
        p = st[prim.name]
        ratio = ""
        if v is base:
            ratio = "(base)"
        else:
            g = goodness(prim, median_of(base_sum, prim.name) or 0, p["median"])
            ratio = f"{g:.2f}x" if g is not None else "-"
        row = [v.key + ("" if s["status"] == "ok" else f" [{s['status']}]"),
               prim.show(p["median"]), prim.show(p["min"]), prim.show(p["max"]), ratio]
        for m in extras:
            e = st.get(m.name)
            cell = m.show(e["median"]) if e else "-"
            if e and m.compare and v is not base:
                g = goodness(m, median_of(base_sum, m.name) or 0, e["median"])
                if g is not None:
                    cell += f" ({g:.2f}x)"
            row.append(cell)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for i, r in enumerate(rows):
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:],
                                                                       strict=True)]
        lines.append("  " + "  ".join(cells).rstrip())
        if i == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    labels = {v.key: v.label for v in case.variants if v.key in results}
    lines.append("  " + "; ".join(f"{k} = {lab}" for k, lab in labels.items()))
    for t in case.targets:
        lines.append("  target: " + check_target(case, t, results)[1])
    return lines


def check_target(case: Case, t: Target, results: dict[str, dict]) -> tuple[bool | None, str]:
    m = case.metric(t.metric)
    gkey = t.gort or (case.primary_gort().key if case.primary_gort() else None)
    gv = median_of(results.get(gkey), t.metric) if gkey else None
    if gv is None:
        return None, f"{t.text}: not measured (no gort result)"
    if t.limit is not None:
        ok = gv >= t.limit if m.higher_is_better else gv <= t.limit
        return ok, (f"{t.text}: gort {m.show(gv)} {m.unit} -> "
                    f"{'MET' if ok else 'NOT MET'}")
    best_key, best = None, None
    for pat in t.vs:
        for v in case.matching(pat):
            pv = median_of(results.get(v.key), t.metric)
            if pv is None:
                continue
            if best is None or (pv > best if m.higher_is_better else pv < best):
                best_key, best = v.key, pv
    if best is None:
        return None, f"{t.text}: not measured (no result for {', '.join(t.vs)})"
    g = goodness(m, gv, best)
    ok = g is not None and g >= t.factor
    return ok, (f"{t.text}: gort is {g:.2f}x {best_key} "
                f"(needs >= {t.factor:.2f}x) -> {'MET' if ok else 'NOT MET'}")


# ---------------------------------------------------------------------------
# Metadata


def versions() -> dict[str, str]:
    from importlib import metadata
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state() -> str:
    root = os.path.dirname(BENCH_DIR)
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "gort"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" + uncommitted changes in gort/" if dirty else "")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(*args.child)
    cases = select_cases(load_cases(), args.only)
    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()] or RUNTIMES
    bad = set(runtimes) - set(RUNTIMES)
    if bad:
        raise SystemExit(f"bench: unknown runtime(s) {', '.join(sorted(bad))}")
    profile = "quick" if args.quick else "full"
    plan = [(c, v) for c in cases for v in c.variants if v.runtime in runtimes]
    if args.list:
        for c in cases:
            print(f"{c.name}: {c.title.format(n=c.size(profile))}")
            for v in c.variants:
                print(f"    {v.key:28s} {v.label}")
        return 0

    started = datetime.datetime.now().astimezone()
    meta = {
        "date": started.isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "command": " ".join([os.path.basename(sys.executable), "bench/run.py", *argv]),
        "python": sys.version.split()[0],
        "python_full": sys.version.replace("\n", " "),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "profile": profile,
        "repeat": args.repeat,
        "versions": versions(),
        "gort_commit": git_state(),
    }
    print(f"# {meta['command']}\n# {meta['date']} on {meta['host']} ({meta['cpus']} cpus), "
          f"Python {meta['python']}, "
          + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
          + f"; gort at {meta['gort_commit']}", flush=True)

    runs: dict[tuple[str, str], list[dict]] = {(c.name, v.key): [] for c, v in plan}
    skip: set[tuple[str, str]] = set()
    for rep in range(args.repeat):
        for c, v in plan:
            k = (c.name, v.key)
            if k in skip:
                continue
            res = run_child(c, v.key, profile)
            runs[k].append(res)
            st = res["status"]
            if st.startswith("n/a") or st.startswith("timeout"):
                skip.add(k)  # will not change on a repeat
            if st == "ok":
                m = c.metrics[0]
                shown = f"{m.show(res['metrics'].get(m.name))} {m.unit}"
            else:
                shown = st
                if res.get("stderr") and st.startswith("error"):
                    shown += "\n" + "\n".join("      " + ln for ln in
                                              res["stderr"].strip().splitlines()[-6:])
            print(f"[{rep + 1}/{args.repeat}] {c.name:22s} {v.key:26s} {shown}  "
                  f"({res['wall']:.1f} s)", file=sys.stderr, flush=True)

    meta["loadavg_end"] = os.getloadavg()
    meta["elapsed_s"] = round((datetime.datetime.now().astimezone() - started).total_seconds())
    report: dict[str, Any] = {"meta": meta, "cases": []}
    out_lines = []
    for c in cases:
        results = {v.key: summarize(c, runs[(c.name, v.key)])
                   for v in c.variants if (c.name, v.key) in runs}
        if not results:
            continue
        size = c.size(profile)
        out_lines.append("")
        out_lines.extend(render_case(c, size, results))
        report["cases"].append({
            "name": c.name, "title": c.title.format(n=size) if isinstance(size, int)
            else c.title, "size": size,
            "metrics": [{"name": m.name, "unit": m.unit, "higher_is_better": m.higher_is_better,
                         "compare": m.compare} for m in c.metrics],
            "variants": {v.key: {"label": v.label, **results[v.key],
                                 "raw": runs[(c.name, v.key)]}
                         for v in c.variants if v.key in results},
            "targets": [{"text": t.text, "met": check_target(c, t, results)[0],
                         "detail": check_target(c, t, results)[1]} for t in c.targets],
        })
    print("\n".join(out_lines))
    print(f"\n# {meta['elapsed_s']} s; load average {meta['loadavg_start'][0]:.2f} at the "
          f"start, {meta['loadavg_end'][0]:.2f} at the end")

    path = args.json
    if path is None:
        os.makedirs(os.path.join(BENCH_DIR, "results"), exist_ok=True)
        stamp = started.strftime("%Y-%m-%d-%H%M")
        host = meta["host"].split(".")[0]
        suffix = "-quick" if args.quick else ""
        path = os.path.join(BENCH_DIR, "results", f"{stamp}-{host}{suffix}.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(f"# results written to {os.path.relpath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
