"""gort.sched.mnmode: the run's one mode object and the specialiser that
makes a function's one-M and M:N forms from its one source."""

from __future__ import annotations

import sys
import traceback
from typing import Any

import pytest

import gort
from gort.hchan import Chan, chanrecv, chansend, closechan
from gort.sched import proc
from gort.sched.mnmode import lock, mode, specialise, unlock


class CountingLock:
    """A lock that counts what a form does with it."""

    def __init__(self) -> None:
        self.acquired = 0
        self.released = 0

    def acquire(self) -> None:
        self.acquired += 1

    def release(self) -> None:
        self.released += 1


L = CountingLock()
_mn = mode.register(globals())


def _get(c: Any, block: bool) -> tuple[bool, Any, bool]:
    if c is None:
        return False, None, False
    lock(L)
    if _mn and block:
        x = "mn-block"
    elif _mn:
        x = "mn"
    else:
        x = "one"
    unlock(L)
    if not block:
        return False, x, True
    raise ValueError("boom")  # the line a traceback must name


_RAISE_LINE = _get.__code__.co_firstlineno + 13
get = specialise(_get)
recv = specialise(_get, name="recv", bind={"block": True}, assume={"c is None": False},
                  returns="if not {2}: raise StopIteration\nreturn {1}")
poll = specialise(_get, name="poll", bind={"block": False}, returns="return {1}, {2}")


@pytest.fixture
def mn():
    """Flip the mode by hand (no run is active), and back."""
    assert not mode.on
    mode.set(True)
    try:
        yield
    finally:
        mode.set(False)


def test_one_m_form_takes_no_lock_and_folds_the_mode():
    L.acquired = L.released = 0
    assert get(1, False) == (False, "one", True)
    assert poll(1) == ("one", True)
    assert get(None, True) == (False, None, False)
    assert (L.acquired, L.released) == (0, 0)


def test_mn_form_takes_the_lock_and_the_registered_global_follows(mn):
    L.acquired = L.released = 0
    assert _mn is True  # mode.register(globals()) keeps it equal to mode.on
    assert get(1, False) == (False, "mn", True)
    assert poll(1) == ("mn", True)
    assert (L.acquired, L.released) == (2, 2)


def test_mode_set_swaps_the_code_of_the_same_function_object(mn):
    f = get
    assert f is get and "acquire" in f.__code__.co_names
    mode.set(False)
    assert "acquire" not in f.__code__.co_names
    mode.set(True)


def test_bind_and_assume_drop_the_parameter_and_the_dead_branch():
    import inspect
    assert list(inspect.signature(recv).parameters) == ["c"]
    assert list(inspect.signature(poll).parameters) == ["c"]
    # "c is None" assumed False: recv(None) does not take the nil branch.
    with pytest.raises(ValueError, match="boom"):
        recv(None)


def test_a_traceback_points_at_the_one_source_line():
    for f in (get, recv):
        try:
            f(1, True) if f is get else f(1)
        except ValueError:
            tb = traceback.extract_tb(sys.exc_info()[2])[-1]
        assert tb.filename == __file__
        assert tb.lineno == _RAISE_LINE, tb
        assert tb.name == f.__name__


def test_returns_template_reshapes_every_return():
    assert poll(None) == (None, False)  # ``return False, None, False`` -> (None, False)
    # recv: "if not {2}: raise StopIteration" with {2} the constant True
    # is folded away; the nil branch's ``ok`` False would raise it.
    assert "StopIteration" not in recv.__code__.co_names
    nil = specialise(_get, name="nil", bind={"block": True},
                     returns="if not {2}: raise StopIteration\nreturn {1}")
    with pytest.raises(StopIteration):
        nil(None)


def test_channel_operations_run_the_form_of_the_runs_mode():
    fns = (chansend, chanrecv, closechan, Chan.send, Chan.recv, Chan.recv_ok, Chan.__next__)

    def names():
        return [("acquire" in f.__code__.co_names) for f in fns]

    assert names() == [False] * len(fns)  # no run: one-M forms
    seen = {}

    def main(n):
        gort.gomaxprocs(n)
        seen["mn"] = mode.on
        seen["forms"] = names()

    gort.run(main, 2)
    assert seen == {"mn": True, "forms": [True] * len(fns)}
    assert names() == [False] * len(fns)  # back after the run
    gort.run(main, 1)
    if not seen["mn"]:  # (a plain thread alive in this process may force M:N)
        assert seen["forms"] == [False] * len(fns)


def test_both_forms_are_foreign_thread_entry_points():
    for f in (Chan.send, Chan.recv, chansend, closechan):
        codes = mode.codes(f)
        assert len(codes) == 2 and codes[0] is not codes[1]
        assert all(c in proc._attachcodes for c in codes)


def test_forms_keep_the_source_file_and_lines():
    import gort.hchan as hchan
    for f, src in ((Chan.send, chansend), (Chan.__next__, chanrecv), (chansend, chansend)):
        one, many = mode.codes(f)
        assert one.co_filename == many.co_filename == hchan.__file__
        assert one.co_firstlineno == many.co_firstlineno == src.__code__.co_firstlineno
