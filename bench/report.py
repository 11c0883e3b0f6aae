"""Turn a results file of bench/run.py into Markdown tables (for docs/performance.md).

    python bench/report.py bench/results/<file>.json [--only NAME,...] [--update DOC]

Prints, for each case, a table of medians (min-max) and "gort is" ratios,
and the targets with MET / NOT MET, exactly as the run computed them.
With --update, rewrites the blocks of DOC between ``<!-- bench:CASE -->``
and ``<!-- /bench:CASE -->`` (and ``bench:meta``) in place instead.
"""

from __future__ import annotations

import argparse
import json
import re
import sys


def fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


FORMATS = {"p50_ms": ",.2f", "p99_ms": ",.2f", "max_ms": ",.1f", "cpu_us_per_rt": ".2f"}


def case_table(case: dict, base_key: str | None) -> list[str]:
    metrics = case["metrics"]
    prim = metrics[0]
    head = ["variant", "what", f"median {prim['unit']}", "min - max", "gort is"]
    head += [f"{m['name']} ({m['unit']})" for m in metrics[1:]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base = case["variants"].get(base_key, {}).get("stats", {}) if base_key else {}

    def ratio(m: dict, v: float) -> str:
        b = base.get(m["name"], {}).get("median")
        if not b or not v:
            return "-"
        r = b / v if m["higher_is_better"] else v / b
        return f"{r:.2f}x"

    for key, var in case["variants"].items():
        st = var.get("stats", {})
        p = st.get(prim["name"])
        if p is None:
            lines.append(f"| {key} | {var['label']} | {var['status']} |" + " |" * (len(head) - 3))
            continue
        spec = FORMATS.get(prim["name"], ",.0f")
        row = [key, var["label"], fmt(p["median"], spec),
               f"{fmt(p['min'], spec)} - {fmt(p['max'], spec)}",
               "(base)" if key == base_key else ratio(prim, p["median"])]
        for m in metrics[1:]:
            e = st.get(m["name"])
            cell = fmt(e["median"], FORMATS.get(m["name"], ",.0f")) if e else "-"
            if e and m.get("compare") and key != base_key:
                cell += f" ({ratio(m, e['median'])})"
            row.append(cell)
        if var["status"] != "ok":
            row[0] += f" ({var['status']})"
        lines.append("| " + " | ".join(row) + " |")
    if case.get("targets"):
        lines.append("")
    for t in case.get("targets", []):
        lines.append(f"- target {t['detail']}")
    return lines


def meta_line(meta: dict) -> str:
    return (f"Command: `{meta['command']}` — {meta['date']}, host {meta['host']} "
            f"({meta['cpus']} CPUs), {meta['platform']}, Python {meta['python']}; "
            + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
            + f"; gort at {meta['gort_commit']}; {meta['repeat']} runs per variant, "
            f"{meta['elapsed_s']} s in all; load average {meta['loadavg_start'][0]:.2f} at "
            f"the start, {meta['loadavg_end'][0]:.2f} at the end.")


def target_table(report: dict) -> str:
    lines = ["| case | target (from the issues) | this run |", "|---|---|---|"]
    for case in report["cases"]:
        for t in case.get("targets", []):
            verdict = {True: "MET", False: "**NOT MET**", None: "not measured"}[t["met"]]
            detail = t["detail"].split(": ", 1)[1].rsplit(" -> ", 1)[0]
            lines.append(f"| {case['name']} | {t['text']} | {verdict}: {detail} |")
    return "\n".join(lines)


def tables(report: dict, only: list[str]) -> dict[str, str]:
    out = {"meta": meta_line(report["meta"]), "targets": target_table(report)}
    for case in report["cases"]:
        if only and not any(case["name"].startswith(n) for n in only):
            continue
        base_key = next((k for k in case["variants"] if k.startswith("gort:")), None)
        out[case["name"]] = (f"Case `{case['name']}`: {case['title']}.\n\n"
                             + "\n".join(case_table(case, base_key)))
    return out


def update(doc: str, blocks: dict[str, str]) -> str:
    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name not in blocks:
            return m.group(0)
        return f"<!-- bench:{name} -->\n{blocks[name]}\n<!-- /bench:{name} -->"
    return re.sub(r"<!-- bench:([\w.]+) -->.*?<!-- /bench:\1 -->", repl, doc, flags=re.S)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--only", default="")
    ap.add_argument("--update", metavar="DOC", default=None)
    args = ap.parse_args(argv)
    with open(args.results) as f:
        report = json.load(f)
    blocks = tables(report, [n for n in args.only.split(",") if n])
    if args.update:
        with open(args.update) as f:
            doc = f.read()
        with open(args.update, "w") as f:
            f.write(update(doc, blocks))
        return 0
    print("\n\n".join(blocks.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
