"""CPython's own tests under gort.monkey.patch_all() (tests/cpython/run_stdlib.py).

Runs every module of the runner's list, each in its own interpreter, two
at a time; fails on any failure that tests/cpython/known_failures.py does
not list.  Skipped, with the reason, where CPython's ``test`` package is
not installed (some distributions split it out).  tests/run_all.py runs
this file in its first pass only: it takes minutes, and the modules pick
their own GOMAXPROCS (1).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "tests" / "cpython" / "run_stdlib.py"


def _have_test_package() -> str | None:
    try:
        if importlib.util.find_spec("test") is None:
            return "CPython's test package is not installed"
        if importlib.util.find_spec("test.test_socket") is None:
            return "CPython's test package has no test_socket"
    except ImportError as e:
        return f"CPython's test package cannot be imported: {e}"
    return None


_MISSING = _have_test_package()


def _load(path: Path) -> dict:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return vars(mod)


def test_known_failures_have_reasons_and_name_listed_modules():
    runner = _load(RUNNER)
    known = _load(RUNNER.parent / "known_failures.py")["KNOWN_FAILURES"]
    tables = [known, *runner["SUBSETS"].values()]
    for table in tables:
        for key, why in table.items():
            assert key.split(".")[0] in runner["MODULES"], key
            assert isinstance(why, str) and len(why) > 20, (key, why)
    match = runner["_match"]
    assert match("test_socket.A.b", {"test_socket.A": "x"}) == "x"
    assert match("test_socket.AB.b", {"test_socket.A": "x"}) is None
    pat = {"test_selectors.*.test_x": "y"}
    assert match("test_selectors.PollSelectorTestCase.test_x", pat) == "y"


@pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")
@pytest.mark.timeout(900)
def test_cpython_stdlib_tests_under_patch_all(tmp_path):
    out = tmp_path / "results.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["GORTMAXPROCS"] = "1"
    p = subprocess.run([sys.executable, str(RUNNER), "-j", "2", "--json", str(out),
                        "--logdir", str(tmp_path / "logs")],
                       capture_output=True, text=True, timeout=880, env=env, cwd=str(ROOT))
    print(p.stdout[-20000:])
    assert out.exists(), p.stdout + p.stderr
    results = json.loads(out.read_text())
    assert {r["module"] for r in results} == set(_load(RUNNER)["MODULES"])
    for r in results:
        assert r["run"] > 0 or r["skipped"] > 0, r["module"]
    assert p.returncode == 0, p.stdout[-20000:] + p.stderr[-5000:]
