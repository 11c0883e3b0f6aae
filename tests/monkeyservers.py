"""Servers that the patched scripts of tests/test_monkey_libs.py and the
bench cases start inside themselves (imported in the child interpreter; not
a test module, and free of pytest so the child stays light).

* ``gort_http(delay)``: an HTTP/1.1 keep-alive server of goroutines, one
  per connection, answering every request with ``hello`` after ``delay``
  seconds on gort's timers (Go: net/http's conn.serve goroutine).
* ``thread_http(delay)``: ``http.server.ThreadingHTTPServer`` served from a
  plain OS thread (a thread per connection), the stdlib's own way.
"""

from __future__ import annotations

import http.server
import threading
import time
from typing import Any

RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")


def gort_http(delay: float = 0.0) -> tuple[Any, int]:
    """Start the goroutine server; returns (listener, port).  Close the
    listener to stop accepting (a connection ends when its client closes).
    It uses the ``socket`` module as it is: under patch_socket its accept,
    recv and sendall park goroutines on gort's netpoller."""
    import socket

    import gort
    import gort.time

    ln = socket.create_server(("127.0.0.1", 0), backlog=4096)

    def handle(c: Any) -> None:
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        n = int(v)
                        while len(buf) < n:
                            d = c.recv(65536)
                            if not d:
                                return
                            buf += d
                        buf = buf[n:]
                if delay:
                    gort.time.sleep(delay)
                c.sendall(RESPONSE)
        except OSError:
            pass
        finally:
            c.close()

    def serve() -> None:
        while True:
            try:
                c, _ = ln.accept()
            except OSError:  # the listener was closed
                return
            gort.go(handle, c)

    gort.go(serve)
    return ln, ln.getsockname()[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes
    delay = 0.0

    def do_GET(self) -> None:
        if self.delay:
            time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: Any) -> None:
        pass


class _ThreadingHTTPServer(http.server.ThreadingHTTPServer):
    request_queue_size = 1024  # the default 5 drops concurrent SYNs: 1 s retries


def thread_http(delay: float = 0.0) -> tuple[Any, int]:
    """Start a ThreadingHTTPServer in a plain thread; returns (server, port).
    ``server.shutdown(); server.server_close()`` stops it."""
    handler = type("H", (_Handler,), {"delay": delay})
    srv = _ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True, name="thread_http").start()
    return srv, srv.server_address[1]
