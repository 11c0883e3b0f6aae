"""Run CPython's own test modules under gort.monkey.patch_all(), as gevent
runs them under its monkey patch (gevent's src/gevent/testing and greentest).

Usage::

    PYTHONPATH=. python tests/cpython/run_stdlib.py [-j 2] [--json out.json] [module ...]

Each module runs in a fresh interpreter (``--child``) that calls
``patch_all()`` before importing anything else, then runs the module's
unittest suite inside ``gort.run`` -- so the test's own code is a goroutine
and every patched call in it parks; the servers the tests start in threads
run as the thread patch makes them (or as plain threads without it).

A test that fails and is listed in known_failures.py (with its reason) is
an expected failure; any other failure or error fails the run.  A listed
test that passes is reported ("now passes: remove it from the list").
Resources that would reach beyond loopback (``network``, ``urlfetch``) are
disabled, as are ``cpu``/``largefile`` (slow).  Some modules run a
documented subset (SUBSETS below) to bound the run's time.

Exit status: 0 when every module ran and nothing unexpected failed.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

MODULES = [
    "test_socket", "test_selectors", "test_select", "test_ssl", "test_httplib",
    "test_urllib2_localnet", "test_subprocess", "test_queue", "test_threading",
    "test_timeout",
]

# Test classes (or ids) left out of a module's run, and why: each costs
# minutes and covers nothing the patch touches.
SIGRAISE = ("a SIGALRM handler raises while the test's goroutine is parked: the handler runs "
            "on the main thread's scheduler greenlet (g0, blocked in netpoll), the exception "
            "ends the gort.run and every later test of the module (docs/monkey.md, 'Signals')")
SUBSETS: dict[str, dict[str, str]] = {
    "test_socket": {
        "test_socket.InterruptedRecvTimeoutTest": SIGRAISE,
        "test_socket.InterruptedSendTimeoutTest": SIGRAISE,
        "test_socket.GeneralModuleTests.test_sendall_interrupted*": SIGRAISE,
        "test_socket.TCPTimeoutTest.testInterruptedTimeout": SIGRAISE,
        "test_socket.ThreadedVSOCKSocketStreamTest": "hangs unpatched too on a VM guest (a VSOCK "
                                                     "connect to the guest's own CID)",
    },
    "test_threading": {
        "test_threading.InterruptMainTests.test_interrupt_main_subthread":
            "_thread.interrupt_main() from a thread while the main goroutine waits in join(): "
            "the KeyboardInterrupt is raised on the main thread's scheduler greenlet (g0), "
            "as a raising signal handler is, and ends the gort.run (docs/monkey.md, 'Signals')",
    },
    "test_timeout": {
        "test_timeout.TCPTimeoutTestCase": "its setUp resolves www.python.org and its tests dial "
                                           "it and pythontest.net: outside loopback",
    },
    "test_selectors": {
        "test_selectors.*.test_select_interrupt_exc": SIGRAISE,
    },
}

MODULE_TIMEOUT = 300.0  # seconds for one module, then it is killed (a hang)
RESOURCES = ["subprocess", "decimal"]  # test.support.use_resources: loopback-only ones
# test_timeout's setUpModule requires "network" for the whole module; the
# class that really uses it is left out (SUBSETS), the rest is loopback.
EXTRA_RESOURCES = {"test_timeout": ["network"]}


# --------------------------------------------------------------------------
# The child: one module, patched


def _child(module: str, out: str, patch: str) -> int:
    import gort.monkey as monkey

    kw: dict[str, bool] = {}
    for name in patch.split(","):
        if name.startswith("-"):
            kw[name[1:]] = False
    monkey.patch_all(**kw)

    import faulthandler
    import unittest

    faulthandler.enable()
    faulthandler.dump_traceback_later(MODULE_TIMEOUT - 10, exit=True)

    from test import support

    import gort

    support.use_resources = RESOURCES + EXTRA_RESOURCES.get(module, [])
    skip = SUBSETS.get(module, {})

    def dropped(test: unittest.TestCase) -> bool:
        tid = test.id().removeprefix("test.")
        return _match(tid, skip) is not None

    ndropped = 0

    def flatten(suite: unittest.TestSuite) -> unittest.TestSuite:
        nonlocal ndropped
        keep = unittest.TestSuite()
        for t in suite:
            if isinstance(t, unittest.TestSuite):
                keep.addTest(flatten(t))
            elif not dropped(t):
                keep.addTest(t)
            else:
                ndropped += 1
        return keep

    class Result(unittest.TextTestResult):
        def __init__(self, *a: object, **k: object) -> None:
            super().__init__(*a, **k)  # type: ignore[arg-type]
            self.passed: list[str] = []
            self.durations_: list[tuple[float, str]] = []
            self._t0 = 0.0

        def startTest(self, test: unittest.TestCase) -> None:
            self._t0 = time.monotonic()
            super().startTest(test)

        def stopTest(self, test: unittest.TestCase) -> None:
            self.durations_.append((time.monotonic() - self._t0, test.id()))
            super().stopTest(test)

        def addSuccess(self, test: unittest.TestCase) -> None:
            self.passed.append(test.id())
            super().addSuccess(test)

    def main() -> dict:
        mod = __import__(f"test.{module}", fromlist=["*"])
        suite = flatten(unittest.defaultTestLoader.loadTestsFromModule(mod))
        runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=Result)
        t0 = time.monotonic()
        r = runner.run(suite)
        fails = {}
        for test, tb in r.failures + r.errors:
            test = getattr(test, "test_case", test)  # a failed subtest: its test
            tid = test.id().removeprefix("test.") if hasattr(test, "id") else str(test)
            fails.setdefault(tid, tb[-1500:])
        slow = sorted(r.durations_, reverse=True)[:5]
        return {"module": module, "run": r.testsRun, "passed": len(r.passed),
                "skipped": len(r.skipped), "xfail": len(r.expectedFailures),
                "left_out": ndropped, "fails": fails, "passed_ids": r.passed,
                "seconds": round(time.monotonic() - t0, 1),
                "slowest": [[round(d, 2), i] for d, i in slow]}

    res = gort.run(main)
    Path(out).write_text(json.dumps(res))
    faulthandler.cancel_dump_traceback_later()
    # The module's threads and goroutines may linger: do not wait for them.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# --------------------------------------------------------------------------
# The parent


def _load_known() -> dict[str, str]:
    sys.path.insert(0, str(HERE))
    try:
        from known_failures import KNOWN_FAILURES
    finally:
        sys.path.pop(0)
    return KNOWN_FAILURES


def _match(tid: str, table: dict[str, str]) -> str | None:
    """The reason of the first entry of ``table`` that names ``tid``: the
    id itself, a prefix of it (a class), or an fnmatch pattern."""
    for k, why in table.items():
        if tid == k or tid.startswith(k + ".") or fnmatch.fnmatchcase(tid, k):
            return why
    return None


def run_module(module: str, patch: str, logdir: Path) -> dict:
    out = logdir / f"{module}.json"
    log = logdir / f"{module}.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("GORTMAXPROCS", "1")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", module, "--json", str(out),
           f"--patch={patch}"]
    t0 = time.monotonic()
    with open(log, "w") as f:
        try:
            rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT, env=env,
                                 timeout=MODULE_TIMEOUT, cwd=str(logdir))
        except subprocess.TimeoutExpired:
            rc = "timeout"
    if out.exists():
        res = json.loads(out.read_text())
    else:
        tail = log.read_text(errors="replace")[-3000:]
        res = {"module": module, "run": 0, "passed": 0, "skipped": 0, "xfail": 0,
               "fails": {module: f"the module's process ended ({rc}) without a result:\n{tail}"},
               "seconds": round(time.monotonic() - t0, 1), "slowest": []}
    res["log"] = str(log)
    res["passed_ids"] = [p.removeprefix("test.") for p in res.get("passed_ids", [])]
    return res


def _markdown(results: list[dict], known: dict[str, str]) -> str:
    out = ["| module | run | passed | known failures | skipped | left out | unexpected | seconds |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        left = r.get("left_out", 0)
        unexpected = [t for t in r["fails"] if _match(t, known) is None]
        out.append(f"| {r['module']} | {r['run']} | {r['passed']} | "
                   f"{len(r['fails']) - len(unexpected)} | {r['skipped']} | "
                   f"{left} | {len(unexpected)} | "
                   f"{r['seconds']:.0f} |")
    out += ["", "Known failures (tests/cpython/known_failures.py):", ""]
    out += [f"- `{k}`: {why}" for k, why in known.items()]
    out += ["", "Left out (tests/cpython/run_stdlib.py, SUBSETS):", ""]
    for table in SUBSETS.values():
        out += [f"- `{k}`: {why}" for k, why in table.items()]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", default=MODULES)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--json", help="write the per-module results here")
    ap.add_argument("--patch", default="all",
                    help="'all', or patches to leave out, e.g. '-thread,-subprocess'")
    ap.add_argument("--logdir", default=None)
    ap.add_argument("--markdown", metavar="RESULTS_JSON",
                    help="print docs/monkey.md's tables from a --json file, and exit")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return _child(a.child, a.json, a.patch)
    if a.markdown:
        print(_markdown(json.loads(Path(a.markdown).read_text()), _load_known()))
        return 0

    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    logdir = Path(a.logdir or tempfile.mkdtemp(prefix="gort-stdlib-"))
    logdir.mkdir(parents=True, exist_ok=True)
    known = _load_known()
    t0 = time.monotonic()
    with ThreadPoolExecutor(a.jobs) as ex:
        results = list(ex.map(lambda m: run_module(m, a.patch, logdir), a.modules))
    bad = 0
    summary = []
    for r in results:
        unexpected = {t: tb for t, tb in r["fails"].items() if _match(t, known) is None}
        expected = [t for t in r["fails"] if t not in unexpected]
        fixed = sorted(k for k in known if k.split(".")[0] == r["module"]
                       and any(_match(p, {k: ""}) is not None for p in r["passed_ids"]))
        r["unexpected"] = sorted(unexpected)
        r["known"] = len(expected)
        status = "ok" if not unexpected else "FAIL"
        bad += bool(unexpected)
        line = (f"{r['module']:24s} {status:4s} run {r['run']:4d}  passed {r['passed']:4d}  "
                f"known failures {len(expected):3d}  skipped {r['skipped']:4d}  "
                f"{r['seconds']:6.1f} s")
        summary.append(line)
        for t in sorted(unexpected):
            print(f"--- UNEXPECTED {t}\n{unexpected[t]}\n", flush=True)
        for k in fixed:
            print(f"--- now passes (remove from known_failures.py): {k}")
    print("\n".join(summary))
    print(f"total {time.monotonic() - t0:.0f} s; logs in {logdir}")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
