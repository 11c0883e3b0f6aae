"""A chat server: one goroutine per client, one broadcaster, channels between.

    python samples/chat_server.py --port 7001       # serve until Ctrl-C or SIGTERM;
                                                    # connect with `nc 127.0.0.1 7001`
    python samples/chat_server.py --self-test       # 3 clients chat, then it exits

This is the chat server of "The Go Programming Language" (section 8.10):

    var entering = make(chan client)   // client = chan<- string
    var leaving = make(chan client)
    var messages = make(chan string)

    func broadcaster() {
        clients := make(map[client]bool)
        for {
            select {
            case msg := <-messages:     for cli := range clients { cli <- msg }
            case cli := <-entering:     clients[cli] = true
            case cli := <-leaving:      delete(clients, cli); close(cli)
            }
        }
    }

The broadcaster owns the set of clients, so no lock guards it: the only way
to touch it is to send the broadcaster a message (Go's "share memory by
communicating").  Each connection has a reader goroutine (lines in, to
``messages``) and a writer goroutine (its own channel out, to the socket).
Idle clients are dropped by a read deadline, as in the exercise.  Ctrl-C or
SIGTERM shuts it down (Go: ``signal.NotifyContext``): the listener closes and
the main goroutine returns.
"""

from __future__ import annotations

import argparse
import signal

import gort
import gort.context
import gort.net
import gort.signal
import gort.time


class Server:
    def __init__(self, idle: float = 300.0) -> None:
        self.entering = gort.chan()
        self.leaving = gort.chan()
        self.messages = gort.chan()
        self.idle = idle

    def broadcaster(self) -> None:
        clients: dict[gort.Chan, str] = {}
        while True:
            i, v, ok = gort.select(gort.recv(self.messages), gort.recv(self.entering),
                                   gort.recv(self.leaving))
            if not ok:
                return  # shutting down
            if i == 0:
                for cli in clients:
                    # A slow client must not stall everyone: drop the line
                    # for a client whose buffer is full (select + default).
                    gort.select(gort.send(cli, v), default=True)
            elif i == 1:
                cli, who = v
                clients[cli] = who
                cli.send(f"you are {who}; {len(clients)} here")
            else:
                clients.pop(v, None)
                v.close()

    def client_writer(self, conn: gort.net.Conn, ch: gort.Chan) -> None:
        for msg in ch:  # until the broadcaster closes ch
            try:
                conn.write(msg.encode() + b"\n")
            except OSError:
                break

    def handle(self, conn: gort.net.Conn) -> None:
        ch = gort.chan(16)  # outgoing messages for this client
        who = str(conn.remote_addr)
        gort.go(self.client_writer, conn, ch)
        self.entering.send((ch, who))
        self.messages.send(f"{who} has arrived")
        buf = b""
        try:
            while True:
                conn.set_read_deadline(gort.time.now() + self.idle)
                data = conn.read()
                if not data:
                    break
                buf += data
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    self.messages.send(f"{who}: {line.decode(errors='replace').strip()}")
        except (TimeoutError, OSError):
            pass  # idle too long, reset, or closed
        self.leaving.send(ch)
        self.messages.send(f"{who} has left")
        conn.close()

    def serve(self, ln: gort.net.Listener) -> None:
        gort.go(self.broadcaster)
        while True:
            try:
                conn = ln.accept()
            except gort.net.NetClosedError:
                return
            gort.go(self.handle, conn)


def self_test() -> None:
    ln = gort.net.listen("tcp", "127.0.0.1:0")
    srv = Server(idle=5.0)
    gort.go(srv.serve, ln)

    def readline(c: gort.net.Conn, pending: list[bytes]) -> str:
        while b"\n" not in pending[0]:
            c.set_read_deadline(gort.time.now() + 5)
            pending[0] += c.read()
        line, pending[0] = pending[0].split(b"\n", 1)
        return line.decode()

    conns = [gort.net.dial("tcp", ln.addr) for _ in range(3)]
    bufs = [[b""] for _ in conns]
    for c, b in zip(conns, bufs, strict=True):
        greeting = readline(c, b)
        assert greeting.startswith("you are "), greeting
    conns[0].write(b"hello, gophers\n")
    for c, b in zip(conns, bufs, strict=True):
        while True:
            line = readline(c, b)
            if line.endswith("hello, gophers"):
                print(f"{c.local_addr} got: {line}")
                break
    for c in conns:
        c.close()
    ln.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=7001)
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        gort.run(self_test)
        print("chat self-test: ok")
        return

    def run() -> None:
        ctx, stop = gort.signal.notify_context(gort.context.background(),
                                               signal.SIGINT, signal.SIGTERM)
        ln = gort.net.listen("tcp", f"127.0.0.1:{args.port}")
        print(f"chat server on {ln.addr}; connect with: nc {ln.addr.ip} {ln.addr.port}",
              flush=True)
        gort.go(Server().serve, ln)
        ctx.done().recv()  # a signal arrived
        stop()
        ln.close()
        print("chat: signal received, shutting down", flush=True)

    try:
        gort.run(run)
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        pass


if __name__ == "__main__":
    main()
