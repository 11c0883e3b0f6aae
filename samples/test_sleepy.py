"""A sleep-heavy test suite that runs in milliseconds: gort.synctest's fake clock.

    python -m pytest samples/test_sleepy.py -q

Each test below waits for minutes or hours of *fake* time.  Inside a
synctest bubble (``@pytest.mark.synctest``, from gort's pytest plugin) time
moves only when every goroutine of the test is blocked, and then it jumps
straight to the next timer.  Go: testing/synctest.
"""

from __future__ import annotations

import pytest

import gort
import gort.synctest
import gort.time


def fetch_with_backoff(attempt, *, base=1.0, cap=600.0, tries=12):
    """Call attempt() until it returns a value, sleeping base, 2*base, ...
    (capped) between failures.  Returns (value, seconds waited)."""
    start = gort.time.now()
    delay = base
    for _ in range(tries):
        v = attempt()
        if v is not None:
            return v, gort.time.since(start)
        gort.time.sleep(delay)
        delay = min(delay * 2, cap)
    raise TimeoutError("gave up")


@pytest.mark.synctest(leakcheck=True)
def test_backoff_waits_about_an_hour():
    calls = []

    def attempt():
        calls.append(gort.time.now())
        return "ok" if len(calls) == 12 else None

    v, waited = fetch_with_backoff(attempt)
    # 1+2+4+...+512 = 1023 s, then 600 s: 2223 s of fake time, instantly.
    assert v == "ok" and waited == 1 + 2 + 4 + 8 + 16 + 32 + 64 + 128 + 256 + 512 + 600


@pytest.mark.synctest(leakcheck=True)
def test_heartbeat_ticks_every_30_seconds_for_a_day():
    beats = []
    done = gort.chan()

    def heartbeat():
        tk = gort.time.new_ticker(30)
        try:
            while True:
                i, v, _ = gort.select(gort.recv(tk.c), gort.recv(done))
                if i == 1:
                    return
                beats.append(v)
        finally:
            tk.stop()

    gort.go(heartbeat)
    gort.time.sleep(24 * 3600)
    gort.synctest.wait()  # let the last tick be taken
    done.close()
    assert len(beats) == 24 * 3600 // 30


@pytest.mark.synctest(leakcheck=True)
def test_context_deadline_is_exact():
    import gort.context

    ctx, cancel = gort.context.with_timeout(gort.context.background(), 5)
    try:
        gort.time.sleep(4.5)
        assert ctx.err() is None
        gort.time.sleep(0.5)
        gort.synctest.wait()
        assert ctx.err() is gort.context.DeadlineExceeded
    finally:
        cancel()
