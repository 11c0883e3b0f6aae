"""gort.monkey.patch_subprocess: Popen's pipes, communicate and wait park
the goroutine (netpoll, a pidfd), and os.read/os.write on pipes do too.
Each test runs its script in a fresh interpreter (tests/monkeyutil.py)."""

import os
import shutil

import pytest
from monkeyutil import run_patched

pytestmark = pytest.mark.skipif(shutil.which("sh") is None or shutil.which("cat") is None,
                                reason="needs sh, cat and sleep")

PRE = """
import json, os, subprocess, sys, time
import gort, gort.sync, gort.time
import gort.monkey as monkey
monkey.patch_subprocess()

def ticking(n=1000, every=0.01):
    ticks = []
    stop = gort.chan(1)
    def ticker():
        t = gort.time.new_ticker(every)
        for _ in range(n):
            i, _, _ = gort.select(gort.recv(t.c), gort.recv(stop))
            if i == 1:
                break
            ticks.append(time.monotonic())
        t.stop()
    gort.go(ticker)
    return ticks, stop
"""


def test_run_sleep_while_ticker_ticks():
    # Unpatched, subprocess.run blocks the M in waitpid for 0.2 s: no tick.
    r = run_patched(PRE + """
def main():
    ticks, stop = ticking()
    gort.time.sleep(0.02)
    n0 = len(ticks)
    t0 = time.monotonic()
    rc = subprocess.run(["sleep", "0.2"]).returncode
    el = time.monotonic() - t0
    during = len(ticks) - n0
    stop.send(None)
    return {"rc": rc, "el": el, "during": during,
            "pidfd": hasattr(os, "pidfd_open")}
print(json.dumps(gort.run(main)))
""")
    assert r["rc"] == 0 and 0.19 < r["el"] < 2
    assert r["during"] >= 8, r


def test_many_children_at_once():
    r = run_patched(PRE + """
def main():
    wg = gort.sync.WaitGroup()
    rcs = []
    def one(i):
        rcs.append(subprocess.run(["sh", "-c", f"sleep 0.2; exit {i % 3}"]).returncode)
    t0 = time.monotonic()
    for i in range(20):
        wg.go(one, i)
    wg.wait()
    return {"rcs": sorted(rcs), "el": time.monotonic() - t0}
print(json.dumps(gort.run(main)))
""")
    assert r["rcs"] == sorted(i % 3 for i in range(20))
    assert r["el"] < 3  # 20 x 0.2 s one after the other would be 4 s


def test_communicate_large_input_and_output():
    r = run_patched(PRE + """
import hashlib
def main():
    ticks, stop = ticking()
    data = os.urandom(8 * 1024 * 1024)
    p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = p.communicate(data, timeout=30)
    # both pipes big at once: stdout and stderr of 4 MB each
    q = subprocess.Popen(["sh", "-c", "head -c 4194304 /dev/zero; head -c 4194304 /dev/zero >&2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    o2, e2 = q.communicate()
    t = subprocess.run(["cat"], input="héllo\\r\\nwörld\\n", capture_output=True, text=True,
                       encoding="utf-8")
    stop.send(None)
    return {"same": hashlib.sha256(out).digest() == hashlib.sha256(data).digest(),
            "err": err.decode(), "rc": p.returncode, "o2": len(o2), "e2": len(e2),
            "text": t.stdout, "ticks": len(ticks)}
print(json.dumps(gort.run(main)))
""")
    assert r["same"] and r["err"] == "" and r["rc"] == 0
    assert r["o2"] == r["e2"] == 4 * 1024 * 1024
    assert r["text"] == "héllo\nwörld\n"


def test_timeouts_keep_partial_output():
    r = run_patched(PRE + """
def main():
    out = {}
    p = subprocess.Popen(["sh", "-c", "echo first; sleep 5; echo never"],
                         stdout=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    try:
        p.communicate(timeout=0.3)
        out["raised"] = False
    except subprocess.TimeoutExpired:
        out["raised"] = True
    out["el"] = time.monotonic() - t0
    p.kill()
    o, _ = p.communicate(timeout=5)
    out["partial"] = o
    out["rc"] = p.returncode
    try:
        subprocess.run(["sleep", "5"], timeout=0.2)
        out["run_raised"] = False
    except subprocess.TimeoutExpired:
        out["run_raised"] = True
    q = subprocess.Popen(["sleep", "5"])
    for name, to in (("zero", 0), ("neg", -1)):
        try:
            q.wait(timeout=to)
            out[name] = "returned"
        except subprocess.TimeoutExpired:
            out[name] = "TimeoutExpired"
    q.kill()
    out["killed"] = q.wait(timeout=5)
    return out
print(json.dumps(gort.run(main)))
""")
    assert r["raised"] and r["el"] < 2
    assert r["partial"] == "first\n" and r["rc"] == -9
    assert r["run_raised"]
    assert r["zero"] == r["neg"] == "TimeoutExpired"
    assert r["killed"] == -9


def test_pipes_read_write_park_and_stdin_readline():
    r = run_patched(PRE + """
def main():
    ticks, stop = ticking()
    p = subprocess.Popen(["sh", "-c", "read x; sleep 0.2; echo got $x"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    p.stdin.write(b"abc\\n")
    p.stdin.flush()
    n0 = len(ticks)
    line = p.stdout.readline()
    during = len(ticks) - n0
    p.stdin.close()
    p.stdout.close()
    rc = p.wait()
    stop.send(None)
    return {"line": line.decode(), "rc": rc, "during": during}
print(json.dumps(gort.run(main)))
""")
    assert r["line"] == "got abc\n" and r["rc"] == 0 and r["during"] >= 8


# Known issue (docs/monkey.md): at GOMAXPROCS > 1 the patched script hung
# (60 s) in about 1 run in 40, not yet diagnosed; kept running, reported as
# xfail there so a hang shows without failing the suite.
@pytest.mark.xfail(os.environ.get("GORTMAXPROCS", "1").strip() not in ("", "1"),
                   reason="known intermittent hang at GOMAXPROCS > 1 (docs/monkey.md)",
                   strict=False)
def test_os_read_write_on_a_pipe_park():
    r = run_patched(PRE + """
def main():
    rfd, wfd = os.pipe()
    got = []
    def reader():
        got.append(os.read(rfd, 100))       # parks until the writer writes
    ticks, stop = ticking()
    done = gort.chan()
    gort.go(lambda: (reader(), done.send(None)))
    gort.time.sleep(0.1)
    n = os.write(wfd, b"hello")
    done.recv()
    # a full pipe: a goroutine's write parks until a reader drains it
    big = b"x" * (1 << 20)
    sent = []
    def writer():
        v = memoryview(big)
        while v:
            k = os.write(wfd, v)
            v = v[k:]
            sent.append(k)
        os.close(wfd)
        done.send(None)
    gort.go(writer)
    total = 0
    while True:
        b = os.read(rfd, 65536)
        if not b:
            break
        total += len(b)
    done.recv()
    os.close(rfd)
    # a regular file goes straight through
    fd = os.open(sys.executable, os.O_RDONLY)
    head = os.read(fd, 4)
    os.close(fd)
    stop.send(None)
    return {"got": got[0].decode(), "n": n, "total": total, "ticks": len(ticks),
            "elf": head == b"\\x7fELF"}
print(json.dumps(gort.run(main)))
""")
    assert r["got"] == "hello" and r["n"] == 5 and r["total"] == 1 << 20
    assert r["ticks"] >= 8 and r["elf"]


def test_from_a_plain_thread():
    # Patched Popen and os.read in a plain thread block that thread, as the stdlib does.
    r = run_patched(PRE + """
import threading
res = {}
def th():
    p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    res["out"] = p.communicate(b"x" * 300000, timeout=10)[0] == b"x" * 300000
    res["rc"] = subprocess.run(["sh", "-c", "exit 3"]).returncode
    try:
        subprocess.run(["sleep", "5"], timeout=0.1)
    except subprocess.TimeoutExpired:
        res["to"] = True
    r, w = os.pipe()
    os.write(w, b"abc")
    res["read"] = os.read(r, 10).decode()
    os.close(r); os.close(w)
t = threading.Thread(target=th)
t.start()
t.join(30)
print(json.dumps(res))
""")
    assert r == {"out": True, "rc": 3, "to": True, "read": "abc"}


def test_pipeline_and_empty_text_input():
    # p1.stdout handed to p2 as its stdin: fileno() puts the fd back in
    # blocking mode (else p2 would inherit O_NONBLOCK and read EAGAIN as EOF);
    # communicate(input="") in UTF-16 encodes to a BOM but writes nothing.
    r = run_patched(PRE + """
def main():
    p1 = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    p2 = subprocess.Popen(["cat"], stdin=p1.stdout, stdout=subprocess.PIPE)
    p1.stdout.close()
    p1.stdin.write(b"through two cats\\n")
    p1.stdin.close()
    out = p2.stdout.read()
    p2.stdout.close()
    rc = (p1.wait(5), p2.wait(5))
    p3 = subprocess.Popen([sys.executable, "-c",
                           "import sys; sys.stdout.buffer.write('a\\\\r\\\\nb'.encode('utf-16'))"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, encoding="utf-16")
    o3, _ = p3.communicate(input="")
    return {"out": out.decode(), "rc": list(rc), "o3": o3}
print(json.dumps(gort.run(main)))
""")
    assert r == {"out": "through two cats\n", "rc": [0, 0], "o3": "a\nb"}
