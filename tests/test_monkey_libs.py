"""Real third-party libraries under gort.monkey.patch_all(), against real
servers on 127.0.0.1: requests and httpx (sync) against a goroutine HTTP
server and against http.server in a thread; redis-py against redis-server;
pg8000 against PostgreSQL.  Each test runs its script in a fresh
interpreter (tests/monkeyutil.py), so this process stays unpatched; the
server fixtures start real servers on free ports and stop them, and skip
with the reason where the binary is absent."""

import os

import monkeyutil
import pytest
from monkeyutil import ROOT, run_patched

# The server fixtures (module-scoped: one server for the file's tests).
redis_server = monkeyutil.redis_server
postgres_server = monkeyutil.postgres_server

pytest.importorskip("requests")
pytest.importorskip("httpx")

ENV = {"PYTHONPATH": str(ROOT / "tests") + os.pathsep + str(ROOT)}

PRE = """
import gort.monkey as monkey
monkey.patch_all()
import json, threading, time
import gort, gort.sync, gort.time
from monkeyservers import gort_http, thread_http

def ticking(every=0.01):
    ticks = []
    stop = gort.chan(1)
    def ticker():
        t = gort.time.new_ticker(every)
        while True:
            i, _, _ = gort.select(gort.recv(t.c), gort.recv(stop))
            if i == 1:
                break
            ticks.append(1)
        t.stop()
    gort.go(ticker)
    return ticks, stop
"""


def test_requests_and_httpx_against_both_servers():
    r = run_patched(PRE + """
import requests, httpx
def main():
    out = {}
    ln, gport = gort_http(0.0)
    srv, tport = thread_http(0.0)
    for name, port in (("gort", gport), ("thread", tport)):
        url = f"http://127.0.0.1:{port}/x"
        with requests.Session() as s:
            out[name + "_requests"] = [s.get(url, timeout=5).text for _ in range(3)]
        out[name + "_requests_post"] = requests.post(url, data=b"a" * 100000, timeout=5).text
        with httpx.Client(timeout=5) as c:
            out[name + "_httpx"] = [c.get(url).text for _ in range(3)]
    ln.close()
    srv.shutdown()
    srv.server_close()
    return out
print(json.dumps(gort.run(main)))
""", env=ENV)
    for name in ("gort", "thread"):
        assert r[name + "_requests"] == ["hello"] * 3
        assert r[name + "_httpx"] == ["hello"] * 3
    assert r["gort_requests_post"] == "hello"


def test_200_concurrent_requests_get():
    # The server answers after 100 ms: one after another that is 20 s.
    r = run_patched(PRE + """
import requests
def main():
    ln, port = gort_http(0.1)
    url = f"http://127.0.0.1:{port}/"
    requests.get(url, timeout=5)      # warm: imports, first connection
    ok = []
    def one():
        ok.append(requests.get(url, timeout=10).status_code)
    wg = gort.sync.WaitGroup()
    t0 = time.monotonic()
    for _ in range(200):
        wg.go(one)
    wg.wait()
    el = time.monotonic() - t0
    ln.close()
    return {"ok": ok.count(200), "el": el}
print(json.dumps(gort.run(main)))
""", env=ENV)
    print(f"200 concurrent requests.get, 100 ms server: {r['el']:.3f} s")
    assert r["ok"] == 200
    assert r["el"] < 5.0  # measured ~0.8 s; slack for a loaded machine


def test_httpx_concurrent_shared_client_and_thread_server():
    r = run_patched(PRE + """
import httpx
def main():
    srv, port = thread_http(0.1)
    url = f"http://127.0.0.1:{port}/"
    res = []
    ticks, stop = ticking()
    with httpx.Client(timeout=10, limits=httpx.Limits(max_connections=100)) as c:
        c.get(url)
        def one():
            res.append(c.get(url).text)
        wg = gort.sync.WaitGroup()
        t0 = time.monotonic()
        for _ in range(50):
            wg.go(one)
        wg.wait()
        el = time.monotonic() - t0
    stop.send(None)
    srv.shutdown()
    srv.server_close()
    return {"n": res.count("hello"), "el": el, "ticks": len(ticks)}
print(json.dumps(gort.run(main)))
""", env=ENV)
    assert r["n"] == 50
    assert r["el"] < 3.0  # 50 x 100 ms one after another: 5 s
    assert r["ticks"] >= 5


def test_requests_from_plain_threads_and_goroutines_at_once():
    r = run_patched(PRE + """
import requests
def main():
    ln, port = gort_http(0.05)
    url = f"http://127.0.0.1:{port}/"
    tres, gres = [], []
    def th():
        with requests.Session() as s:
            for _ in range(5):
                tres.append(s.get(url, timeout=10).text)
    ts = [threading.Thread(target=th) for _ in range(4)]
    for t in ts:
        t.start()
    def g():
        gres.append(requests.get(url, timeout=10).text)
    wg = gort.sync.WaitGroup()
    for _ in range(20):
        wg.go(g)
    wg.wait()
    for t in ts:
        t.join(20)
    ln.close()
    return {"t": tres.count("hello"), "g": gres.count("hello")}
print(json.dumps(gort.run(main)))
""", env=ENV)
    assert r == {"t": 20, "g": 20}


def test_redis(redis_server):
    pytest.importorskip("redis")
    r = run_patched(PRE + f"""
import redis
PORT = {redis_server}
""" + """
def main():
    out = {}
    rc = redis.Redis(host="127.0.0.1", port=PORT, socket_timeout=10)
    rc.set("k", "v")
    out["get"] = rc.get("k").decode()
    # 100 goroutines in BLPOP with a timeout; 50 of the lists get a value
    ticks, stop = ticking()
    res = {}
    def pop(i):
        r = rc.blpop([f"q{i}"], timeout=0.5)
        res[i] = None if r is None else r[1].decode()
    wg = gort.sync.WaitGroup()
    t0 = time.monotonic()
    for i in range(100):
        wg.go(pop, i)
    gort.time.sleep(0.1)
    pusher = redis.Redis(host="127.0.0.1", port=PORT)
    for i in range(0, 100, 2):
        pusher.rpush(f"q{i}", f"v{i}")
    wg.wait()
    out["el"] = time.monotonic() - t0
    stop.send(None)
    out["got"] = sum(1 for i in range(0, 100, 2) if res[i] == f"v{i}")
    out["timed_out"] = sum(1 for i in range(1, 100, 2) if res[i] is None)
    out["ticks"] = len(ticks)
    # and from a plain OS thread, sharing the client's pool
    tres = []
    t = threading.Thread(target=lambda: tres.append(rc.incr("n", 5)))
    t.start()
    t.join(10)
    out["thread"] = tres
    pusher.close()
    rc.close()
    return out
print(json.dumps(gort.run(main)))
""", env=ENV)
    assert r["get"] == "v"
    assert r["got"] == 50 and r["timed_out"] == 50
    assert 0.45 < r["el"] < 3.0   # 100 x 0.5 s one after another: 25 s
    assert r["ticks"] >= 20
    assert r["thread"] == [5]


def test_pg8000(postgres_server):
    pytest.importorskip("pg8000")
    port, user, db = postgres_server
    r = run_patched(PRE + f"""
import pg8000.native
ARGS = dict(user={user!r}, database={db!r}, host="127.0.0.1", port={port}, timeout=20)
""" + """
def main():
    out = {}
    con = pg8000.native.Connection(**ARGS)
    con.run("CREATE TABLE IF NOT EXISTS t (id int primary key, v text)")
    con.run("INSERT INTO t VALUES (:i, :v)", i=1, v="one")
    out["row"] = con.run("SELECT v FROM t WHERE id = :i", i=1)
    # 10 goroutines each in pg_sleep(0.3): side by side, not 3 s
    ticks, stop = ticking()
    res = []
    cons = [pg8000.native.Connection(**ARGS) for _ in range(10)]
    def q(i):
        res.append(cons[i].run("SELECT :i::int, pg_sleep(0.3)", i=i)[0][0])
    wg = gort.sync.WaitGroup()
    t0 = time.monotonic()
    for i in range(10):
        wg.go(q, i)
    wg.wait()
    out["el"] = time.monotonic() - t0
    for c in cons:
        c.close()
    stop.send(None)
    out["res"] = sorted(res)
    out["ticks"] = len(ticks)
    tres = []
    def th():
        c = pg8000.native.Connection(**ARGS)
        tres.append(c.run("SELECT count(*) FROM t")[0][0])
        c.close()
    t = threading.Thread(target=th)
    t.start()
    t.join(20)
    out["thread"] = tres
    con.run("DROP TABLE t")
    con.close()
    return out
print(json.dumps(gort.run(main)))
""", env=ENV)
    assert r["row"] == [["one"]]
    assert r["res"] == list(range(10))
    print(f"10 goroutines in pg_sleep(0.3): {r['el']:.3f} s")
    assert 0.29 < r["el"] < 2.5
    assert r["ticks"] >= 10
    assert r["thread"] == [1]
