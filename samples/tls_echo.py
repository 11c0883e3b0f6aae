"""A TLS echo server with per-connection deadlines, and its client.

One goroutine per connection, plain blocking code.  Each connection has
three deadlines, all set on the tls.Conn with the ordinary Conn methods:

* the handshake must finish within ``--handshake-timeout`` seconds (a
  client that connects and says nothing is dropped);
* each read may wait ``--idle-timeout`` seconds (an idle client is dropped);
* each write may take ``--write-timeout`` seconds (a client that does not
  read its echoes is dropped once its socket buffer is full).

A deadline interrupts the handshake, read or write in progress, exactly as
on a plain gort Conn (see docs/tls.md).

Try it:

    python samples/tls_echo.py --port 8444                # prints its CA's path
    openssl s_client -connect 127.0.0.1:8444 -CAfile <ca> -quiet
    python samples/tls_echo.py --self-test
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

import gort
import gort.net
import gort.time
from gort.net import tls


def handle(c: tls.Conn, handshake_timeout: float, idle_timeout: float,
           write_timeout: float, log: list[str]) -> None:
    peer = c.remote_addr
    with c:
        try:
            c.set_deadline(gort.time.now() + handshake_timeout)
            c.handshake()
            st = c.connection_state()
            c.set_write_deadline(None)
            while True:
                c.set_read_deadline(gort.time.now() + idle_timeout)
                data = c.read()
                if not data:
                    log.append(f"{peer}: done ({st.version.name}, {st.cipher_suite})")
                    return
                c.set_write_deadline(gort.time.now() + write_timeout)
                c.write(data)
        except gort.net.DeadlineExceededError as e:
            what = "handshake" if not c.connection_state().handshake_complete else e.op
            log.append(f"{peer}: dropped: {what} deadline")
        except OSError as e:
            log.append(f"{peer}: dropped: {e}")


def serve(ln: tls.Listener, handshake_timeout: float, idle_timeout: float,
          write_timeout: float, log: list[str]) -> None:
    while True:
        try:
            c = ln.accept()
        except gort.net.NetClosedError:
            return
        gort.go(handle, c, handshake_timeout, idle_timeout, write_timeout, log)


def make_certs() -> tuple[str, str, str, str]:
    import tlscerts
    d = tempfile.mkdtemp(prefix="tls-echo-")
    ca = tlscerts.make_ca(d)
    srv = tlscerts.make_cert(d, ca, "server", ["localhost", "127.0.0.1", "::1"])
    return d, ca.cert, srv.cert, srv.key


def self_test() -> None:
    d, ca, cert, key = make_certs()
    log: list[str] = []
    try:
        ln = tls.listen("tcp", "127.0.0.1:0", tls.Config(certificates=[(cert, key)]))
        gort.go(serve, ln, 0.3, 0.3, 0.3, log)
        ccfg = tls.Config(root_cas=ca, server_name="localhost")
        # 1. A good client: echoes come back; close_write ends it cleanly.
        with tls.dial("tcp", ln.addr, ccfg, timeout=5) as c:
            c.set_deadline(gort.time.now() + 5)
            for msg in (b"hello", b"gopher" * 1000):
                c.write(msg)
                got = b""
                while len(got) < len(msg):
                    got += c.read()
                assert got == msg
            c.close_write()
            assert c.read() == b""
        # 2. A client that connects and never handshakes.
        with gort.net.dial("tcp", ln.addr, timeout=5) as q:
            q.set_deadline(gort.time.now() + 5)
            assert q.read() == b""
        # 3. A client that handshakes, then goes idle.
        with tls.dial("tcp", ln.addr, ccfg, timeout=5) as c:
            c.set_deadline(gort.time.now() + 5)
            assert c.read() == b""  # the server's close_notify after its idle deadline
        # 4. A client that writes and never reads its echoes.
        with tls.dial("tcp", ln.addr, ccfg, timeout=5) as c:
            c.set_deadline(gort.time.now() + 5)
            try:
                while True:
                    c.write(b"x" * 65536)
            except OSError:
                pass  # the server gave up on us and closed
        end = gort.time.now() + 5
        while len(log) < 4 and gort.time.now() < end:
            gort.time.sleep(0.01)
        ln.close()
        for line in log:
            print(line)
        assert "done (TLSv1_3" in log[0], log
        assert log[1].endswith("dropped: handshake deadline"), log
        assert log[2].endswith("dropped: read deadline"), log
        assert log[3].endswith("dropped: write deadline"), log
        print("self-test ok")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8444)
    p.add_argument("--cert", help="PEM certificate chain (default: a throwaway one)")
    p.add_argument("--key", help="PEM private key")
    p.add_argument("--handshake-timeout", type=float, default=5.0)
    p.add_argument("--idle-timeout", type=float, default=60.0)
    p.add_argument("--write-timeout", type=float, default=10.0)
    p.add_argument("--self-test", action="store_true", help="run four clients and exit")
    args = p.parse_args(argv)
    if args.self_test:
        gort.run(self_test)
        return
    tmp = None
    if args.cert:
        cert, key = args.cert, args.key
    else:
        tmp, ca, cert, key = make_certs()
        print(f"throwaway CA: {ca}", flush=True)

    class Printer(list):
        def append(self, line: str) -> None:
            print(line, flush=True)

    def run() -> None:
        ln = tls.listen("tcp", (args.host, args.port), tls.Config(certificates=[(cert, key)]))
        print(f"tls echo on {ln.addr}; Ctrl-C to stop", flush=True)
        serve(ln, args.handshake_timeout, args.idle_timeout, args.write_timeout, Printer())

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
