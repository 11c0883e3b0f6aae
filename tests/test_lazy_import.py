"""Issue 16: one import.  ``import gort`` makes every subpackage reachable
as an attribute, lazily (PEP 562), and stays cheap."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _py(code):
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_import_gort_loads_no_extra_subpackage():
    out = _py("import sys, gort; print(sorted(m for m in sys.modules if m.startswith('gort')))")
    loaded = eval(out)
    for lazy in ("gort.net", "gort.sync", "gort.debug", "gort.trace", "gort.netpoll"):
        assert lazy not in loaded, f"import gort imported {lazy}"
    assert "socket" not in _py("import sys, gort; print([m for m in sys.modules if m == 'socket'])")


@pytest.mark.parametrize("expr", [
    "gort.sync.Mutex()", "gort.net.dial", "gort.debug.stack", "gort.trace",
    "gort.context.background()", "gort.time.now()",
])
def test_subpackages_reachable_after_import_gort(expr):
    assert _py(f"import gort; print({expr} is not None)") == "True"


def test_future_subpackage_and_missing_name(tmp_path):
    # A subpackage added later is reachable too: one put on gort's path here.
    (tmp_path / "futuresub.py").write_text("VALUE = 42\n")
    assert _py(f"import gort; gort.__path__.append({str(tmp_path)!r}); "
               "print(gort.futuresub.VALUE)") == "42"
    out = _py("import gort\ntry:\n gort.no_such_thing\nexcept AttributeError as e:\n print(e)")
    assert out == "module 'gort' has no attribute 'no_such_thing'"
    assert "'net'" in _py("import gort; print(dir(gort))")
    # A subpackage whose own import fails says so, not "no attribute".
    (tmp_path / "brokensub.py").write_text("import gort_no_such_dependency\n")
    out = _py(f"import gort; gort.__path__.append({str(tmp_path)!r})\ntry:\n gort.brokensub\n"
              "except ModuleNotFoundError as e:\n print(e.name)")
    assert out == "gort_no_such_dependency"


def test_import_gort_is_cheap():
    # Best of 3 fresh interpreters: the time to import gort itself.
    code = ("import time; t = time.perf_counter(); import gort; "
            "print(time.perf_counter() - t)")
    best = min(float(_py(code)) for _ in range(3))
    assert best < 0.5, f"import gort took {best:.3f} s"


def test_no_public_name_shadows_its_module():
    # gort.chan (the function) once hid the module gort/chan.py, and
    # gort.net.dial hid gort/net/dial.py: a package attribute must be the
    # submodule of that name, if there is one.
    import importlib
    import pkgutil

    import gort
    shadowed = []
    for m in pkgutil.walk_packages(gort.__path__, "gort."):
        if m.name.startswith("gort.monkey"):
            continue  # importing it is harmless, but keep this test side-effect free
        parent, _, name = m.name.rpartition(".")
        mod = importlib.import_module(m.name)
        value = getattr(importlib.import_module(parent), name, None)
        if value is not None and value is not mod:
            shadowed.append(m.name)
    assert shadowed == []
