"""The execution tracer: what every M and goroutine did, and when.

Go: src/runtime/trace.go and cmd/trace.  Go's tracer writes a binary format
that ``go tool trace`` reads; gort writes Chrome trace-event JSON, which
Perfetto (ui.perfetto.dev) and chrome://tracing open offline, and draws its
own picture:

    gort.trace.start("trace.json")     # or GORTDEBUG=trace=trace.json
    ...
    gort.trace.stop()
    python -m gort.trace view trace.json -o trace.svg

The JSON has two "processes": *Ms* (one lane per M; a span for each stretch a
goroutine ran on it, and "idle" spans while the M sleeps in netpoll or on its
note) and *goroutines* (one lane per goroutine; spans for each state:
runnable, running, waiting with Go's wait reason, syscall).  Instant events
mark creation (with the parent), ready, exit, and each timer that timerproc
fires (on its M's lane, with the callback's name).

While off, the tracer costs one global load and a branch at each hook in
gort/sched/proc.py (bench/ measures it on the ping-pong benchmark).
"""

from __future__ import annotations

import argparse
import html
import json
import sys

from .sched.runtime2 import tracing
from .sched.trace import Tracer

__all__ = ["start", "stop", "is_tracing", "render_svg"]

def start(path: str) -> None:
    """Start recording an execution trace, to be written to ``path`` at stop()."""
    if tracing.tracer is not None:
        raise RuntimeError(f"gort.trace: already tracing to {tracing.tracer.path!r}")
    tracing.set(Tracer(path))


def stop() -> str | None:
    """Stop recording and write the trace; returns its path (None if not tracing)."""
    tr = tracing.tracer
    if tr is None:
        return None
    tracing.set(None)
    return tr.write()


def is_tracing() -> bool:
    return tracing.tracer is not None


# ---------------------------------------------------------------------------
# The picture: a self-contained SVG timeline.

_COLORS = {"running": "#2e7d32", "runnable": "#f9a825", "waiting": "#90a4ae",
           "syscall": "#ef6c00", "idle": "#bbdefb", "run": "#2e7d32"}


def render_svg(trace: dict, max_goroutines: int = 60, width: int = 1200) -> str:
    """Draw a trace (as written by stop()) as SVG: a lane per M, then a lane
    per goroutine, spans coloured by state, with tooltips."""
    evs = trace["traceEvents"]
    dur = max(float(trace.get("otherData", {}).get("duration_us", 0)),
              max((e.get("ts", 0) + e.get("dur", 0) for e in evs), default=1.0), 1.0)
    names = {(e["pid"], e.get("tid")): e["args"]["name"] for e in evs
             if e["ph"] == "M" and e["name"] == "thread_name"}
    mspans: dict[int, list] = {}
    open_: dict[int, list] = {}
    for e in evs:
        if e["pid"] != 1 or e["ph"] not in "BE":
            continue
        m = e["tid"]
        if e["ph"] == "B":
            open_.setdefault(m, []).append(e)
        elif open_.get(m):
            b = open_[m].pop()
            mspans.setdefault(m, []).append((b["ts"], e["ts"], b.get("cat", "run"), b["name"]))
    gspans: dict[int, list] = {}
    for e in evs:
        if e["pid"] == 2 and e["ph"] == "X":
            gspans.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"], e["cat"],
                                                    e["name"]))
    gids = sorted(gspans)[:max_goroutines]
    left, lane, top = 170, 18, 48
    rows = [("M", m) for m in sorted(mspans)] + [("G", g) for g in gids]
    height = top + lane * len(rows) + 60
    scale = (width - left - 10) / dur
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="monospace" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="10" y="20" font-size="14">gort execution trace: '
             f'{len(mspans)} M, {len(gspans)} goroutines, {dur / 1000:.2f} ms</text>']
    # A time axis: about eight ticks at a round step.
    step = 10 ** len(str(int(dur / 8))) / 10 if dur >= 8 else 1.0
    while dur / step > 10:
        step *= 2
    t = 0.0
    ybot = top + lane * len(rows)
    while t <= dur:
        x = left + t * scale
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{ybot}" '
                     f'stroke="#ddd"/>')
        parts.append(f'<text x="{x:.1f}" y="{top - 6}" fill="#666">{t / 1000:g} ms</text>')
        t += step
    for i, (kind, key) in enumerate(rows):
        y = top + i * lane
        label = names.get((1, key), f"M{key}") if kind == "M" else names.get((2, key), f"G{key}")
        parts.append(f'<text x="6" y="{y + 12}">{html.escape(label[:24])}</text>')
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y + lane - 1}" '
                     f'y2="{y + lane - 1}" stroke="#eee"/>')
        spans = mspans.get(key, []) if kind == "M" else gspans.get(key, [])
        for t0, t1, cat, name in spans:
            x = left + t0 * scale
            w = max((t1 - t0) * scale, 0.5)
            color = _COLORS.get(cat, "#9e9e9e")
            tip = html.escape(f"{name}: {t0 / 1000:.3f}-{t1 / 1000:.3f} ms")
            parts.append(f'<rect x="{x:.2f}" y="{y + 2}" width="{w:.2f}" height="{lane - 5}" '
                         f'fill="{color}"><title>{tip}</title></rect>')
    y = top + lane * len(rows) + 20
    x = left
    for name in ("running", "runnable", "waiting", "syscall", "idle"):
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{_COLORS[name]}"/>')
        parts.append(f'<text x="{x + 16}" y="{y + 10}">{name}</text>')
        x += 100
    if len(gspans) > len(gids):
        parts.append(f'<text x="{x}" y="{y + 10}">(first {len(gids)} of {len(gspans)} '
                     f'goroutines shown)</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gort.trace",
                                 description="Render a gort execution trace as SVG.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("view", help="render a trace JSON file as a self-contained SVG")
    v.add_argument("file")
    v.add_argument("-o", "--output", help="SVG file to write (default: <file>.svg)")
    v.add_argument("--max-goroutines", type=int, default=60)
    args = ap.parse_args(argv)
    with open(args.file) as f:
        trace = json.load(f)
    svg = render_svg(trace, args.max_goroutines)
    outp = args.output or (args.file.rsplit(".", 1)[0] + ".svg")
    with open(outp, "w") as f:
        f.write(svg)
    print(outp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
