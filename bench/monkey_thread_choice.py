"""What should threading.Thread become under gort.monkey.patch_all()?

    python bench/monkey_thread_choice.py

Two options, each measured in a fresh interpreter:

* ``thread``: a real OS thread (gort's choice; gort/monkey/_thread.py),
  with the patched Lock/Condition/Queue working across threads and
  goroutines;
* ``goroutine``: gevent's choice, a goroutine per Thread: the prototype
  below (start = gort.go, join = a channel), patched in on top.

Three library shapes, each while a ticker goroutine ticks every 10 ms (its
worst lateness says how long the M was held):

1. thread per request: ``http.server.ThreadingHTTPServer`` (socketserver's
   ThreadingMixIn) serving 200 concurrent clients whose handler sleeps
   100 ms (``time.sleep``, patched);
2. ``ThreadPoolExecutor(4)`` hashing 16 x 8 MB with hashlib (C code that
   releases the GIL);
3. a thread that makes a C call the patch does not cover: ``os.waitpid``
   on a child that runs 300 ms.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r'''
import sys, json, time
OPTION = sys.argv[1]
import gort.monkey
gort.monkey.patch_all()
import threading, hashlib, http.server, socket, os, subprocess
import gort, gort.sync, gort.time

if OPTION == "goroutine":
    # gevent's answer, prototyped: a Thread is a goroutine.
    _Base = gort.monkey.original(threading, "Thread")

    class GThread(_Base):
        def start(self):
            self._gdone = gort.chan()
            self._galive = True
            self._started.set()
            def body():
                try:
                    self.run()
                finally:
                    self._galive = False
                    self._gdone.close()
            gort.go(body)
        def join(self, timeout=None):
            if timeout is None:
                self._gdone.recv()
            else:
                gort.select(gort.recv(self._gdone), gort.recv(gort.time.after(timeout)))
        def is_alive(self):
            return getattr(self, "_galive", False)
    threading.Thread = GThread

def ticking():
    worst = [0.0]
    stop = gort.chan(1)
    def ticker():
        t = gort.time.new_ticker(0.01)
        last = time.monotonic()
        while True:
            i, _, _ = gort.select(gort.recv(t.c), gort.recv(stop))
            now = time.monotonic()
            worst[0] = max(worst[0], now - last - 0.01)
            last = now
            if i == 1:
                break
        t.stop()
    gort.go(ticker)
    return worst, stop

def per_request():
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        def do_GET(self):
            time.sleep(0.1)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        def log_message(self, *a):
            pass
    class S(http.server.ThreadingHTTPServer):
        request_queue_size = 1024
    srv = S(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    port = srv.server_address[1]
    gort.go(srv.serve_forever, 0.05)
    ok = []
    def client():
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
        s.close()
        ok.append(data.endswith(b"ok"))
    wg = gort.sync.WaitGroup()
    t0 = time.monotonic()
    for _ in range(200):
        wg.go(client)
    wg.wait()
    el = time.monotonic() - t0
    srv.shutdown()
    srv.server_close()
    return {"ok": sum(ok), "seconds": el}

def pool():
    from concurrent.futures import ThreadPoolExecutor
    data = os.urandom(8 << 20)
    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as ex:
        res = list(ex.map(lambda _: hashlib.sha256(data).hexdigest(), range(16)))
    return {"ok": len(set(res)) == 1 and len(res) == 16, "seconds": time.monotonic() - t0}

def cblock():
    p = subprocess.Popen(["sleep", "0.3"])
    t = threading.Thread(target=os.waitpid, args=(p.pid, 0))
    t0 = time.monotonic()
    t.start()
    t.join()
    p.returncode = 0
    return {"ok": True, "seconds": time.monotonic() - t0}

def main():
    out = {}
    for name, fn in (("per_request", per_request), ("pool", pool), ("cblock", cblock)):
        worst, stop = ticking()
        gort.time.sleep(0.05)
        try:
            r = fn()
        except Exception as e:
            r = {"ok": False, "error": f"{type(e).__name__}: {e}"[:200]}
        stop.send(None)
        r["worst_tick_late_ms"] = worst[0] * 1000
        out[name] = r
    return out

print(json.dumps(gort.run(main)))
'''


def main() -> int:
    import platform
    print(f"# threading.Thread under patch_all: Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs")
    rows = []
    for option in ("thread", "goroutine"):
        p = subprocess.run([sys.executable, "-c", CHILD, option], capture_output=True,
                           text=True, timeout=300, cwd=ROOT,
                           env=dict(os.environ, PYTHONPATH=ROOT))
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        if p.returncode != 0 or not lines:
            print(f"{option}: failed\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
            continue
        rows.append((option, json.loads(lines[-1])))
    print("\n| Thread is | case | ok | seconds | worst ticker lateness (ms) |")
    print("|---|---|---|---|---|")
    for option, r in rows:
        for case, v in r.items():
            print(f"| {option} | {case} | {v.get('ok')} | {v.get('seconds', float('nan')):.3f} "
                  f"| {v['worst_tick_late_ms']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
