"""gort.monkey.patch_thread: threading's primitives and queue park
goroutines, and still block plain threads.  Each test runs its script in a
fresh interpreter (tests/monkeyutil.py), so this process stays unpatched."""

import threading

from monkeyutil import run_patched

import gort.monkey

PRE = """
import json, queue, threading, time
import gort, gort.sync, gort.time
import gort.monkey as monkey
monkey.patch_thread()
"""


def test_this_process_stays_unpatched():
    assert not gort.monkey.is_patched("thread")
    assert threading.Lock is gort.monkey.original(threading, "Lock")


def test_registry_and_twice():
    r = run_patched(PRE + """
import _thread
monkey.patch_thread()   # twice: harmless
print(json.dumps({
    "patched": monkey.is_patched("thread"),
    "lock": monkey.is_patched("threading.Lock"),
    # The real lock either way (3.13 made threading.Lock a class of its own).
    "orig": type(monkey.original(threading, "Lock")()) is type(
        monkey.original(_thread, "allocate_lock")()),
    "thread_patched": _thread.allocate_lock is threading.Lock,
    "simple": queue.SimpleQueue is queue._PySimpleQueue,
    "runtime_real": type(gort.sched.runtime2.threading).__name__,
}))
""")
    assert r == {"patched": True, "lock": True, "orig": True, "thread_patched": True,
                 "simple": True,
                 "runtime_real": "_RealThreading"}


def test_contended_lock_parks_goroutine_not_thread():
    # Unpatched, B's acquire blocks the M: A (which holds the lock) and the
    # ticker never run again, and B gives up after 2 s with no ticks.
    r = run_patched(PRE + """
def main():
    lk = threading.Lock()
    ticks = []
    held = gort.chan()
    def a():
        with lk:
            held.send(None)
            gort.time.sleep(0.2)
    def ticker():
        for _ in range(10):
            gort.time.sleep(0.01)
            ticks.append(1)
    gort.go(a)
    held.recv()
    gort.go(ticker)
    t0 = time.monotonic()
    got = lk.acquire(timeout=2)
    el = time.monotonic() - t0
    lk.release()
    return {"got": got, "el": el, "ticks": len(ticks)}
print(json.dumps(gort.run(main)))
""")
    assert r["got"] is True
    assert 0.1 < r["el"] < 1.5
    assert r["ticks"] >= 5


def test_lock_timeouts_and_bad_input():
    r = run_patched(PRE + """
def main():
    lk = threading.Lock()
    lk.acquire()
    out = {}
    t0 = time.monotonic()
    out["t01"] = lk.acquire(timeout=0.1)
    out["el"] = time.monotonic() - t0
    out["t0"] = lk.acquire(timeout=0)
    out["nb"] = lk.acquire(False)
    for name, call in (("neg", lambda: lk.acquire(timeout=-2)),
                       ("nbt", lambda: lk.acquire(False, 1)),
                       ("big", lambda: lk.acquire(timeout=1e300))):
        try:
            call()
            out[name] = "no error"
        except (ValueError, OverflowError) as e:
            out[name] = type(e).__name__
    lk.release()
    try:
        threading.Lock().acquire(False, 1)   # checked before trying, as the C lock does
        out["nbt_free"] = "no error"
    except ValueError:
        out["nbt_free"] = "ValueError"
    out["repr"] = repr(lk).startswith("<unlocked ") and " object at 0x" in repr(lk)
    try:
        lk.release()
        out["unlocked"] = "no error"
    except RuntimeError as e:
        out["unlocked"] = str(e)
    out["free"] = lk.acquire(timeout=-1) and not lk.acquire(False)
    return out
print(json.dumps(gort.run(main)))
""")
    assert r["t01"] is False and 0.08 < r["el"] < 1.0
    assert r["t0"] is False and r["nb"] is False
    assert r["neg"] == "ValueError" and r["nbt"] == "ValueError" and r["big"] == "OverflowError"
    assert "unlocked" in r["unlocked"]
    assert r["nbt_free"] == "ValueError" and r["repr"]
    assert r["free"] is True


def test_queue_between_goroutines_and_threads():
    r = run_patched(PRE + """
def main():
    out = {}
    for name in ("Queue", "LifoQueue", "PriorityQueue", "SimpleQueue"):
        cls = getattr(queue, name)
        q = cls()
        back = cls()
        # goroutine producer -> goroutine consumer
        def prod():
            for i in range(100):
                q.put(i)
        gort.go(prod)
        got = sorted(q.get(timeout=5) for _ in range(100))
        # OS thread consumer <- goroutine producer, and back
        def th():
            for _ in range(50):
                back.put(q.get(timeout=5) * 2)
        t = threading.Thread(target=th)
        t.start()
        for i in range(50):
            q.put(i)
        got2 = sorted(back.get(timeout=5) for _ in range(50))
        t.join()
        t0 = time.monotonic()
        try:
            q.get(timeout=0.1)
            empty = False
        except queue.Empty:
            empty = True
        out[name] = [got == list(range(100)), got2 == [2 * i for i in range(50)],
                             empty, time.monotonic() - t0 < 1.0]
    bq = queue.Queue(maxsize=1)
    bq.put(1)
    try:
        bq.put(2, timeout=0.05)
        out["full"] = False
    except queue.Full:
        out["full"] = True
    return out
print(json.dumps(gort.run(main)))
""")
    for name in ("Queue", "LifoQueue", "PriorityQueue", "SimpleQueue"):
        assert r[name] == [True, True, True, True], name
    assert r["full"] is True


def test_event_condition_semaphore_both_ways():
    r = run_patched(PRE + """
def main():
    out = {}
    # a thread sets an Event a goroutine waits on, while goroutines run
    ev = threading.Event()
    ticks = []
    def ticker():
        for _ in range(5):
            gort.time.sleep(0.01)
            ticks.append(1)
    gort.go(ticker)
    threading.Timer(0.1, ev.set).start()
    out["event"] = ev.wait(5)
    out["ticks"] = len(ticks)
    out["event_to"] = threading.Event().wait(0.05)
    # a goroutine notifies a Condition a thread waits on
    cv = threading.Condition()
    box = []
    def waiter():
        with cv:
            box.append(cv.wait_for(lambda: len(box) > 0 or None, 5))
    t = threading.Thread(target=waiter)
    t.start()
    gort.time.sleep(0.02)
    with cv:
        box.append("x")
        cv.notify_all()
    t.join(5)
    out["cond"] = box
    # semaphores: 3 permits, 10 goroutines, at most 3 inside
    sem = threading.BoundedSemaphore(3)
    inside = [0, 0]
    wg = gort.sync.WaitGroup()
    def worker():
        with sem:
            inside[0] += 1
            inside[1] = max(inside[1], inside[0])
            gort.time.sleep(0.01)
            inside[0] -= 1
    for _ in range(10):
        wg.go(worker)
    wg.wait()
    out["maxinside"] = inside[1]
    try:
        sem.release()
        out["bounded"] = "no error"
    except ValueError:
        out["bounded"] = "ValueError"
    out["sem_to"] = threading.Semaphore(0).acquire(timeout=0.05)
    b = threading.Barrier(3)
    res = []
    def party():
        res.append(b.wait(5))
    wg2 = gort.sync.WaitGroup()
    for _ in range(2):
        wg2.go(party)
    t = threading.Thread(target=party)
    t.start()
    wg2.wait()
    t.join()
    out["barrier"] = sorted(res)
    return out
print(json.dumps(gort.run(main)))
""")
    assert r["event"] is True and r["ticks"] == 5 and r["event_to"] is False
    assert r["cond"] == ["x", True]
    assert r["maxinside"] == 3 and r["bounded"] == "ValueError"
    assert r["sem_to"] is False
    assert r["barrier"] == [0, 1, 2]


def test_rlock_owner_is_the_goroutine():
    r = run_patched(PRE + """
def main():
    rl = threading.RLock()
    out = {}
    rl.acquire(); rl.acquire()
    def other():
        out["other_try"] = rl.acquire(False)
        try:
            rl.release()
            out["other_release"] = "no error"
        except RuntimeError:
            out["other_release"] = "RuntimeError"
        out["other_wait"] = rl.acquire(timeout=2)
        rl.release()
    done = gort.chan()
    gort.go(lambda: (other(), done.send(None)))
    gort.time.sleep(0.05)
    rl.release(); rl.release()
    done.recv()
    return out
print(json.dumps(gort.run(main)))
""")
    assert r == {"other_try": False, "other_release": "RuntimeError", "other_wait": True}


def test_identity_local_current_thread():
    r = run_patched(PRE + """
def main():
    loc = threading.local()
    loc.v = "main"
    seen = []
    def g(i):
        before = getattr(loc, "v", None)
        loc.v = i
        gort.time.sleep(0.01)          # others run and set their own
        seen.append((before, loc.v == i, threading.get_ident(),
                     threading.current_thread().name))
    wg = gort.sync.WaitGroup()
    for i in range(5):
        wg.go(g, i)
    wg.wait()
    idents = [s[2] for s in seen]
    return {
        "before": [s[0] for s in seen], "kept": all(s[1] for s in seen),
        "distinct": len(set(idents)) == 5,
        "main_is_thread": threading.get_ident() == threading.main_thread().ident,
        "main_ct": threading.current_thread() is threading.main_thread(),
        "names": all(s[3].startswith("goroutine-") for s in seen),
        "main_v": loc.v,
    }
print(json.dumps(gort.run(main)))
""")
    assert r["before"] == [None] * 5
    assert r["kept"] and r["distinct"] and r["names"]
    assert r["main_is_thread"] and r["main_ct"] and r["main_v"] == "main"


def test_thread_stays_a_thread_and_join_parks():
    r = run_patched(PRE + """
def main():
    ticks = []
    def ticker():
        for _ in range(10):
            gort.time.sleep(0.01)
            ticks.append(1)
    idents = []
    def body():
        idents.append(threading.get_ident())
        time.sleep(0.2)               # unpatched time: blocks only this thread
    t = threading.Thread(target=body)
    t.start()
    gort.go(ticker)
    t0 = time.monotonic()
    t.join(0.05)
    alive = t.is_alive()
    t.join()
    return {"alive_after_short_join": alive, "dead": not t.is_alive(),
            "el": time.monotonic() - t0, "ticks": len(ticks),
            "os_thread": idents[0] != threading.main_thread().ident,
            "enum_os_only": all(not x.name.startswith("goroutine-")
                                for x in threading.enumerate())}
print(json.dumps(gort.run(main)))
""")
    assert r["alive_after_short_join"] and r["dead"] and r["os_thread"] and r["enum_os_only"]
    assert r["ticks"] >= 8 and r["el"] < 2


def test_thread_pool_executor_from_goroutines():
    r = run_patched(PRE + """
import hashlib
from concurrent.futures import ThreadPoolExecutor
def main():
    ticks = []
    def ticker():
        for _ in range(10):
            gort.time.sleep(0.01)
            ticks.append(1)
    gort.go(ticker)
    res = {}
    with ThreadPoolExecutor(4) as ex:
        def user(i):
            f = ex.submit(lambda: (time.sleep(0.1), i * i)[1])
            res[i] = f.result(timeout=5)
        wg = gort.sync.WaitGroup()
        t0 = time.monotonic()
        for i in range(8):
            wg.go(user, i)
        wg.wait()
        el = time.monotonic() - t0
    return {"res": [res[i] for i in range(8)], "el": el, "ticks": len(ticks)}
print(json.dumps(gort.run(main)))
""")
    assert r["res"] == [i * i for i in range(8)]
    assert r["el"] < 2 and r["ticks"] >= 8


def test_plain_threads_keep_blocking_semantics():
    # No runtime at all: the patched primitives are ordinary thread locks.
    r = run_patched(PRE + """
q = queue.Queue()
lk = threading.Lock()
ev = threading.Event()
def th():
    with lk:
        q.put(threading.get_ident())
    ev.wait(5)
ts = [threading.Thread(target=th) for _ in range(8)]
for t in ts:
    t.start()
ids = {q.get(timeout=5) for _ in range(8)}
ev.set()
for t in ts:
    t.join(5)
t0 = time.monotonic()
to = lk.acquire() and not lk.acquire(timeout=0.05)
print(json.dumps({"ids": len(ids), "to": to, "el": time.monotonic() - t0,
                  "runtime": gort.sched.sched.m0 is not None}))
""")
    assert r["ids"] == 8 and r["to"] and r["el"] < 1 and r["runtime"] is False


def test_lazy_runtime_main_goroutine_and_logging():
    # No gort.run: the first gort.go makes main a goroutine; an RLock taken
    # before that is still owned after (the main goroutine is its thread).
    r = run_patched(PRE + """
import io, logging
rl = threading.RLock()
rl.acquire()
buf = io.StringIO()
log = logging.getLogger("t")
log.addHandler(logging.StreamHandler(buf))
log.setLevel(logging.INFO)
q = queue.Queue()
def g(i):
    log.info("g%d %s", i, threading.current_thread().name)
    q.put(i)
for i in range(3):
    gort.go(g, i)
got = sorted(q.get(timeout=5) for _ in range(3))
rl.release()
print(json.dumps({"got": got, "lines": len(buf.getvalue().splitlines())}))
""")
    assert r == {"got": [0, 1, 2], "lines": 3}


def test_run_ends_with_goroutines_parked_on_locks():
    # gort.run kills goroutines still parked on a hybrid Lock (with and
    # without a timeout); they leave the lock's queue and the runtime's
    # count of foreign waits, so the next run still detects a deadlock.
    r = run_patched(PRE + """
lk = threading.Lock()
lk.acquire()
def main():
    gort.go(lk.acquire)
    gort.go(lambda: lk.acquire(timeout=100))
    gort.time.sleep(0.05)
    return len(lk._waiters)
parked = gort.run(main)
after = (len(lk._waiters), gort.sched.sched.nsyscall)
try:
    gort.run(lambda: gort.chan().recv())
    dl = False
except gort.Deadlock:
    dl = True
lk.release()
print(json.dumps({"parked": parked, "after": after, "deadlock": dl, "free": lk.acquire(False)}))
""", timeout=30)
    assert r == {"parked": 2, "after": [0, 0], "deadlock": True, "free": True}
