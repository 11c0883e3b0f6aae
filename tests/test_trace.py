"""The execution tracer: valid JSON, balanced spans, the SVG viewer, GORTDEBUG=trace."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import gort
import gort.time
import gort.trace
from gort.sched import proc


def _workload():
    def worker(i):
        proc.gopark(None, None, "chan receive")

    gs = []

    def main():
        for i in range(5):
            gort.go(lambda i=i: (gs.append(proc.getg()), worker(i)))
        gort.gosched()
        while len(gs) < 5:
            gort.gosched()
        for g in gs:
            proc.goready(g)
        gort.blocking(lambda: None)
        gort.time.sleep(0.001)
        while gort.num_goroutine() > 1:
            gort.gosched()

    gort.run(main)


def _check_balanced(trace):
    evs = trace["traceEvents"]
    depth = {}
    for e in evs:
        if e["ph"] == "B":
            depth[e["tid"]] = depth.get(e["tid"], 0) + 1
        elif e["ph"] == "E":
            depth[e["tid"]] = depth.get(e["tid"], 0) - 1
            assert depth[e["tid"]] >= 0, "E without B"
    assert all(v == 0 for v in depth.values()), depth


def test_trace_start_stop_json(tmp_path):
    path = tmp_path / "t.json"
    gort.trace.start(str(path))
    with pytest.raises(RuntimeError, match="already tracing"):
        gort.trace.start(str(path))
    try:
        _workload()
    finally:
        assert gort.trace.stop() == str(path)
    assert not gort.trace.is_tracing() and gort.trace.stop() is None
    trace = json.loads(path.read_text())
    _check_balanced(trace)
    evs = trace["traceEvents"]
    names = {e.get("name") for e in evs}
    assert {"GoCreate", "GoUnblock", "GoEnd", "TimerFire"} <= names
    fires = [e for e in evs if e.get("name") == "TimerFire"]
    # On the lane of timerproc's M: M0 with one P; any M's with several.
    nprocs = int(os.environ.get("GORTMAXPROCS") or 1)
    assert fires[0]["args"]["f"] == "_goroutineReady"
    assert fires[0]["pid"] == 1 and 0 <= fires[0]["tid"] < nprocs  # pid 1: the M lanes
    runs = [e for e in evs if e["ph"] == "B" and e.get("cat") == "run"]
    assert any(e["name"].startswith("G2 ") for e in runs)
    states = {e["name"] for e in evs if e["ph"] == "X"}
    assert {"running", "runnable", "waiting: chan receive", "waiting: syscall"} <= states
    assert any(e["ph"] == "B" and e.get("cat") == "idle" for e in evs)  # M slept in blocking


def test_viewer_renders_svg(tmp_path):
    path = tmp_path / "t.json"
    gort.trace.start(str(path))
    try:
        _workload()
    finally:
        gort.trace.stop()
    out = tmp_path / "t.svg"
    r = subprocess.run([sys.executable, "-m", "gort.trace", "view", str(path), "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    svg = out.read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert ">M0<" in svg and "G2 " in svg and "#2e7d32" in svg  # a running span


def test_gortdebug_trace_env(tmp_path):
    path = tmp_path / "env.json"
    code = textwrap.dedent("""
        import gort
        def main():
            for _ in range(3):
                gort.go(lambda: None)
            gort.gosched()
        gort.run(main)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, GORTDEBUG=f"trace={path}"), timeout=60)
    assert r.returncode == 0, r.stderr
    trace = json.loads(path.read_text())
    _check_balanced(trace)
    assert sum(1 for e in trace["traceEvents"] if e.get("name") == "GoCreate") >= 3
