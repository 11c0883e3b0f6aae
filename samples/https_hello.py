"""samples/http_hello.py over TLS: HTTPS with ALPN, on gort.net.tls.

The HTTP code is http_hello's, unchanged: a tls.Conn *is* a gort Conn, so
``http_hello.handle`` reads, writes and sets its deadlines on it as on a
plain TCP connection.  What TLS adds, as Go's net/http does for
ListenAndServeTLS:

* a handshake deadline (``--handshake-timeout``; net/http takes it from
  ReadTimeout): a client that connects and never says hello is dropped;
* ALPN: the server offers only "http/1.1" (no h2 here), and a connection
  that negotiated something else is refused;
* plain HTTP sent to the TLS port gets Go's answer, "400 Bad Request:
  Client sent an HTTP request to an HTTPS server.", in clear text.

Try it:

    python samples/https_hello.py --port 8443           # makes a throwaway CA + cert
    curl --cacert /tmp/.../ca.cert https://localhost:8443/   # the path it prints
    python samples/https_hello.py --cert c.pem --key k.pem  # your own certificate
    python samples/https_hello.py --self-test
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

import http_hello  # samples/http_hello.py (this script's directory is on sys.path)

import gort
import gort.net
import gort.time
from gort.net import tls

PROTOS = ["http/1.1"]


def handle(c: tls.Conn, handshake_timeout: float, read_timeout: float, idle_timeout: float,
           write_timeout: float) -> None:
    """Handshake within its deadline, check ALPN, then serve HTTP/1.1."""
    try:
        c.set_deadline(gort.time.now() + handshake_timeout)
        c.handshake()
    except tls.RecordHeaderError:
        # Go's net/http: answer a plain-HTTP client in plain HTTP.
        try:
            c.net_conn().write(b"HTTP/1.0 400 Bad Request\r\n\r\n"
                               b"Client sent an HTTP request to an HTTPS server.\n")
        except OSError:
            pass
        c.close()
        return
    except OSError as e:  # a timeout, a bad certificate, a reset...
        print(f"http: TLS handshake error from {c.remote_addr}: {e}", file=sys.stderr)
        c.close()
        return
    proto = c.connection_state().negotiated_protocol
    if proto not in (None, "http/1.1"):
        c.close()
        return
    c.set_deadline(None)
    http_hello.handle(c, read_timeout, idle_timeout, write_timeout)


def serve(ln: tls.Listener, handshake_timeout: float = 10.0, read_timeout: float = 10.0,
          idle_timeout: float = 60.0, write_timeout: float = 10.0) -> None:
    """Accept until ``ln`` is closed (the handshake runs in each connection's
    goroutine, so a slow client never holds up accept)."""
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
            gort.time.sleep(delay)
            continue
        delay = 0.0
        gort.go(handle, c, handshake_timeout, read_timeout, idle_timeout, write_timeout)


def make_certs() -> tuple[str, str, str, str]:
    """A throwaway CA and a certificate for localhost/127.0.0.1/::1:
    (directory, ca file, cert file, key file)."""
    import tlscerts
    d = tempfile.mkdtemp(prefix="https-hello-")
    ca = tlscerts.make_ca(d)
    srv = tlscerts.make_cert(d, ca, "server", ["localhost", "127.0.0.1", "::1"])
    return d, ca.cert, srv.cert, srv.key


def self_test() -> None:
    d, ca, cert, key = make_certs()
    try:
        ln = tls.listen("tcp", "127.0.0.1:0",
                        tls.Config(certificates=[(cert, key)], next_protos=PROTOS))
        gort.go(serve, ln, 0.5, 5.0, 5.0, 5.0)
        # 1. An HTTPS client offering h2 and http/1.1 gets http/1.1 and 3 answers.
        ccfg = tls.Config(root_cas=ca, server_name="localhost", next_protos=["h2", "http/1.1"])
        with tls.dial("tcp", ln.addr, ccfg, timeout=5) as c:
            c.set_deadline(gort.time.now() + 5)
            assert c.connection_state().negotiated_protocol == "http/1.1"
            c.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" * 2 +
                    b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            pending = bytearray()
            for _ in range(3):
                status, _, body = http_hello._read_response(c, pending)
                assert status == b"HTTP/1.1 200 OK" and body == http_hello.BODY
            assert c.read() == b"", "no clean close_notify after Connection: close"
        # 2. Plain HTTP to the TLS port: Go's clear-text 400.
        with gort.net.dial("tcp", ln.addr, timeout=5) as p:
            p.set_deadline(gort.time.now() + 5)
            p.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            got = b""
            while True:
                data = p.read()
                if not data:
                    break
                got += data
            assert got.startswith(b"HTTP/1.0 400 Bad Request"), got
        # 3. A client that never says hello is dropped at the handshake deadline.
        with gort.net.dial("tcp", ln.addr, timeout=5) as q:
            q.set_deadline(gort.time.now() + 5)
            t0 = gort.time.now()
            assert q.read() == b""
            waited = gort.time.since(t0)
            assert 0.3 < waited < 4, waited
        ln.close()
        print(f"self-test ok: HTTPS + ALPN http/1.1, plain HTTP refused, silent client "
              f"dropped after {waited:.2f}s")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8443)
    p.add_argument("--cert", help="PEM certificate chain (default: a throwaway one)")
    p.add_argument("--key", help="PEM private key")
    p.add_argument("--handshake-timeout", type=float, default=10.0)
    p.add_argument("--read-timeout", type=float, default=10.0)
    p.add_argument("--idle-timeout", type=float, default=60.0)
    p.add_argument("--write-timeout", type=float, default=10.0)
    p.add_argument("--self-test", action="store_true", help="start, send requests, exit")
    args = p.parse_args(argv)
    if args.self_test:
        gort.run(self_test)
        return
    tmp = None
    if args.cert:
        cert, key = args.cert, args.key
    else:
        tmp, ca, cert, key = make_certs()
        print(f"throwaway CA: curl --cacert {ca} https://localhost:{args.port}/", flush=True)

    def run() -> None:
        cfg = tls.Config(certificates=[tls.load_x509_key_pair(cert, key)], next_protos=PROTOS)
        ln = tls.listen("tcp", (args.host, args.port), cfg)
        print(f"https hello on https://{ln.addr}/ ; Ctrl-C to stop", flush=True)
        serve(ln, args.handshake_timeout, args.read_timeout, args.idle_timeout,
              args.write_timeout)

    try:
        gort.run(run)
    except KeyboardInterrupt:
        pass
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
