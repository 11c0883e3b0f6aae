"""A tiny HTTP/1.1 "hello" server: keep-alive, pipelining, read/write deadlines.

Every connection is one goroutine running plain blocking code.  Deadlines do
what net/http's server timeouts do:

* ``--read-timeout``   a request's headers must arrive within this many
  seconds of the first byte being awaited (Go: Server.ReadHeaderTimeout);
* ``--idle-timeout``   a keep-alive connection may sit idle this long
  between requests (Go: Server.IdleTimeout);
* ``--write-timeout``  writing a response may take this long (Go:
  Server.WriteTimeout).

Try it:

    python samples/http_hello.py --port 8080
    curl -v http://127.0.0.1:8080/
    wrk -t2 -c64 -d10s http://127.0.0.1:8080/          # keep-alive load
    ab -k -n 100000 -c 50 http://127.0.0.1:8080/
    python samples/http_hello.py --self-test          # start, send requests, exit

Only what a hello server needs: GET/HEAD/POST with an optional
Content-Length body (read and dropped); chunked request bodies get 501.
"""

from __future__ import annotations

import argparse
import sys
import time as _walltime
from email.utils import formatdate

import gort
import gort.net
import gort.time

MAX_HEADER_BYTES = 1 << 20  # Go: http.DefaultMaxHeaderBytes
BODY = b"hello\n"

_date = [0.0, b""]


def http_date() -> bytes:
    """The Date header value, rebuilt at most once a second (net/http caches it too)."""
    now = _walltime.time()
    if now - _date[0] >= 1.0:
        _date[0] = now
        _date[1] = formatdate(now, usegmt=True).encode()
    return _date[1]


def response(status: bytes, body: bytes, keep_alive: bool, head: bool = False) -> bytes:
    hdr = (b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Date: " + http_date() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n")
    if not keep_alive:
        hdr += b"Connection: close\r\n"
    return hdr + b"\r\n" + (b"" if head else body)


class BadRequest(Exception):
    def __init__(self, status: bytes) -> None:
        super().__init__(status.decode())
        self.status = status


def parse_head(head: bytes) -> tuple[bytes, bytes, bytes, dict[bytes, bytes]]:
    """Request line + headers -> (method, target, version, {lower name: value})."""
    lines = head.split(b"\r\n")
    try:
        method, target, version = lines[0].split(b" ")
    except ValueError:
        raise BadRequest(b"400 Bad Request") from None
    if not version.startswith(b"HTTP/1."):
        raise BadRequest(b"505 HTTP Version Not Supported")
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise BadRequest(b"400 Bad Request")
        headers[name.lower()] = value.strip()
    return method, target, version, headers


def handle(c: gort.net.Conn, read_timeout: float, idle_timeout: float,
           write_timeout: float) -> None:
    """Serve requests on one connection until the client is done or too slow."""
    buf = bytearray()
    chunk = bytearray(65536)
    with c:
        try:
            while True:
                # Wait for the next request: idle timeout until a byte comes,
                # then the header read timeout.
                if not buf:
                    c.set_read_deadline(gort.time.now() + idle_timeout)
                    n = c.read_into(chunk)
                    if n == 0:
                        return
                    buf += chunk[:n]
                c.set_read_deadline(gort.time.now() + read_timeout)
                out = bytearray()
                keep_alive = True
                # Answer every complete request in the buffer (pipelining),
                # then write the answers in one go.
                while keep_alive:
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        if len(buf) > MAX_HEADER_BYTES:
                            raise BadRequest(b"431 Request Header Fields Too Large")
                        if out:
                            break
                        n = c.read_into(chunk)
                        if n == 0:
                            return
                        buf += chunk[:n]
                        continue
                    method, _, version, headers = parse_head(bytes(buf[:end]))
                    del buf[:end + 4]
                    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
                        raise BadRequest(b"501 Not Implemented")
                    try:
                        clen = int(headers.get(b"content-length", b"0"))
                    except ValueError:
                        raise BadRequest(b"400 Bad Request") from None
                    if clen < 0:
                        raise BadRequest(b"400 Bad Request")
                    while len(buf) < clen:  # read and drop the body
                        n = c.read_into(chunk)
                        if n == 0:
                            return
                        buf += chunk[:n]
                    del buf[:clen]
                    conn_hdr = headers.get(b"connection", b"").lower()
                    if version == b"HTTP/1.0":
                        keep_alive = conn_hdr == b"keep-alive"
                    else:
                        keep_alive = conn_hdr != b"close"
                    out += response(b"200 OK", BODY, keep_alive, head=method == b"HEAD")
                c.set_write_deadline(gort.time.now() + write_timeout)
                c.write(out)
                if not keep_alive:
                    return
        except BadRequest as e:
            try:
                c.set_write_deadline(gort.time.now() + write_timeout)
                c.write(response(e.status, e.status + b"\n", False))
            except OSError:
                pass
        except gort.net.DeadlineExceededError:
            return  # too slow (or idle too long): drop it, as net/http does
        except (ConnectionError, gort.net.NetClosedError):
            return


def serve(ln: gort.net.Listener, read_timeout: float = 10.0, idle_timeout: float = 60.0,
          write_timeout: float = 10.0) -> None:
    """Accept until ``ln`` is closed; back off on EMFILE like net/http."""
    delay = 0.0
    while True:
        try:
            c = ln.accept()
        except gort.net.NetClosedError:
            return
        except gort.net.OpError as e:
            if not e.temporary():
                raise
            delay = 0.005 if delay == 0 else min(delay * 2, 1.0)
            print(f"http: Accept error: {e}; retrying in {delay * 1000:.0f}ms", file=sys.stderr)
            gort.time.sleep(delay)
            continue
        delay = 0.0
        gort.go(handle, c, read_timeout, idle_timeout, write_timeout)


def _read_response(c: gort.net.Conn, pending: bytearray) -> tuple[bytes, dict[bytes, bytes], bytes]:
    while b"\r\n\r\n" not in pending:
        data = c.read()
        if not data:
            raise AssertionError(f"connection closed mid-response: {bytes(pending)!r}")
        pending += data
    end = pending.find(b"\r\n\r\n")
    lines = bytes(pending[:end]).split(b"\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(b":") for ln in lines[1:])}
    clen = int(headers[b"content-length"])
    del pending[:end + 4]
    while len(pending) < clen:
        data = c.read()
        if not data:
            raise AssertionError("connection closed mid-body")
        pending += data
    body = bytes(pending[:clen])
    del pending[:clen]
    return lines[0], headers, body


def self_test() -> None:
    """Serve on a free port; send pipelined keep-alive requests, then a
    Connection: close one, and check every answer and the close."""
    ln = gort.net.listen("tcp", "127.0.0.1:0")
    gort.go(serve, ln, 5.0, 5.0, 5.0)
    with gort.net.dial("tcp", ln.addr, timeout=5) as c:
        c.set_deadline(gort.time.now() + 5)
        req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        c.write(req * 3 + b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        pending = bytearray()
        for _ in range(4):
            status, headers, body = _read_response(c, pending)
            assert status == b"HTTP/1.1 200 OK" and body == BODY, (status, body)
            assert b"connection" not in headers
        c.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, headers, body = _read_response(c, pending)
        assert headers.get(b"connection") == b"close" and body == BODY
        assert c.read() == b"", "server did not close after Connection: close"
    ln.close()
    print(f"self-test ok: 5 requests on one connection to {ln.addr}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--read-timeout", type=float, default=10.0)
    p.add_argument("--idle-timeout", type=float, default=60.0)
    p.add_argument("--write-timeout", type=float, default=10.0)
    p.add_argument("--self-test", action="store_true", help="start, send requests, exit")
    args = p.parse_args(argv)
    if args.self_test:
        gort.run(self_test)
        return

    def run() -> None:
        ln = gort.net.listen("tcp", (args.host, args.port))
        print(f"http hello on http://{ln.addr}/ ; Ctrl-C to stop", flush=True)
        serve(ln, args.read_timeout, args.idle_timeout, args.write_timeout)

    try:
        gort.run(run)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
