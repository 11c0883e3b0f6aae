"""gort.net.tls: TLS on a gort Conn, with Go's deadline semantics.

Go: src/crypto/tls (conn.go: Conn, Read, Write, Close, CloseWrite,
Handshake, ConnectionState; tls.go: Client, Server, Dial, DialWithDialer,
Listen, LoadX509KeyPair; common.go: Config, ClientAuthType, alerts).

The cryptography is OpenSSL's, through the standard library's
``ssl.SSLObject`` driven by two ``ssl.MemoryBIO``s; the bytes move through
the gort Conn underneath, so nothing here ever blocks the thread::

    tls.Conn.read_into(buf)
        in_mu.lock                       Go: c.in.Lock
        [handshake() once]               Go: c.Handshake() (handshakeMutex)
        loop: sslobj.read(n, buf)        OpenSSL: decrypt from the incoming BIO
              SSLWantReadError ->
                  fd.read(64 KiB)        the gort FD: parks in pollWait, honours
                  incoming.write(data)   the read deadline, woken by close()
    tls.Conn.write(data)
        out_mu.lock                      Go: c.out.Lock
        sslobj.write(chunk)              OpenSSL: encrypt into the outgoing BIO
        fd.write(outgoing.read())        parks on a full socket buffer; write deadline

A tls.Conn *is* a gort Conn (a subclass of gort.net.Conn) sharing the FD
of the Conn it wraps, so ``set_deadline``, ``set_read_deadline``,
``set_write_deadline``, ``fileno``, the addresses, and whatever else Conn
offers (``makefile``) work unchanged: a deadline interrupts a handshake, read
or write in progress because every wait is the FD's pollWait.  docs/tls.md
has the whole map.

Where gort differs from Go, and why:

* A peer that closes the TCP connection without a close_notify alert makes
  ``read`` raise UnexpectedEOFError.  Go accepts such an EOF at a record
  boundary (popular web servers do it); gort refuses it everywhere, since an
  attacker who can inject a FIN could otherwise truncate the stream unseen
  (RFC 8446 section 6.1).
* An expired read deadline fails ``read`` at once even when decrypted data
  is buffered (Go returns buffered plaintext first): the same rule as a
  plain gort Conn.
* ``close_write()`` sends close_notify *and* shuts down the TCP write side
  (Go's CloseWrite only sends the alert); it handshakes first if needed,
  where Go returns errEarlyCloseWrite.
* ``close()`` ignores a failure to send close_notify (Go returns it after
  closing anyway), and is idempotent like every gort Conn.
* Config names certificates by file (``load_x509_key_pair``) and CAs by
  file, directory or PEM text: that is what ``ssl.SSLContext`` loads.
  ClientAuth modes that accept a client certificate *without verifying it*
  (Go's RequestClientCert, RequireAnyClientCert) are not available through
  the ssl module and raise ValueError.
* Errors are classes (gort.net's OpError family, and ``ssl.SSLError``):
  TLSError, CertificateVerificationError, RecordHeaderError,
  UnexpectedEOFError; deadlines and closes are the Conn's own
  DeadlineExceededError (a TimeoutError) and NetClosedError.

Locks: ``_hs_mu``, ``_in_mu`` and ``_out_mu`` are gort sync.Mutexes (they
are held across parks, as Go's handshakeMutex, c.in and c.out are).
``_ssl_mu`` is a threading.Lock around each SSLObject call (never across a
park): under M:N a reader and a writer of one Conn run on different Ms, and
an OpenSSL SSL object must not be used by two threads at once.  With one M
it is never contended.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gort.netpoll import netpollcheckerr, pollNoError
from gort.sched import blocking
from gort.sync import Mutex
from gort.time import now as _now

from . import conn as _netconn
from .addr import split_address
from .conn import as_bytes_like
from .dialer import dial as _net_dial
from .dialer import listen as _net_listen
from .errors import (
    ConnBrokenPipeError,
    DeadlineExceededError,
    NetClosedError,
    OpError,
)
from .fd_mutex import mutexClosed
from .fd_poll import convertErr

__all__ = [
    "NO_CLIENT_CERT", "REQUEST_CLIENT_CERT", "REQUIRE_AND_VERIFY_CLIENT_CERT",
    "REQUIRE_ANY_CLIENT_CERT", "VERIFY_CLIENT_CERT_IF_GIVEN", "VERSION_TLS12", "VERSION_TLS13",
    "Certificate", "CertificateVerificationError", "CertificateVerifyError", "Config", "Conn",
    "ConnectionState", "Listener", "RecordHeaderError", "TLSError", "UnexpectedEOFError",
    "client", "dial", "listen", "load_x509_key_pair", "server",
]

# Go: VersionTLS12 = 0x0303, VersionTLS13 = 0x0304; ssl.TLSVersion has the same values.
VERSION_TLS12 = ssl.TLSVersion.TLSv1_2
VERSION_TLS13 = ssl.TLSVersion.TLSv1_3

# Go: ClientAuthType (same values).
NO_CLIENT_CERT = 0
REQUEST_CLIENT_CERT = 1
REQUIRE_ANY_CLIENT_CERT = 2
VERIFY_CLIENT_CERT_IF_GIVEN = 3
REQUIRE_AND_VERIFY_CLIENT_CERT = 4

_READ_CHUNK = 65536  # bytes asked of the socket per read: several full records
_WRITE_CHUNK = 256 * 1024  # plaintext encrypted per step: bounds the outgoing BIO
_CLOSE_NOTIFY_TIMEOUT = 5.0  # Go: closeNotify's SetWriteDeadline(now + 5 s)

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}

# OpenSSL reasons meaning "the peer does not speak TLS" (Go: RecordHeaderError).
_NOT_TLS = frozenset(("HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "WRONG_VERSION_NUMBER",
                      "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG", "RECORD_LENGTH_MISMATCH"))


# --------------------------------------------------------------------------
# Errors


class TLSError(OpError, ssl.SSLError):
    """The TLS layer failed: a bad or unexpected message, an alert from the
    peer ("remote error: tls: bad certificate")...  Both a gort.net OpError
    (``op``, ``net``, ``source``, ``addr``; ``err`` is the ssl.SSLError) and
    an ``ssl.SSLError`` (``library`` and ``reason`` are OpenSSL's)."""

    def __init__(self, op: str, net: str = "", source: Any = None, addr: Any = None,
                 err: BaseException | str = "", syscall: str = "", text: str = "") -> None:
        super().__init__(op, net, source, addr, err, syscall)
        self.text = text or _ssl_text(err)
        self.library = getattr(err, "library", None)
        self.reason = getattr(err, "reason", None)

    def _body(self) -> str:
        return self.text

    def __reduce__(self) -> Any:
        return (_rebuild_tls, (type(self), self.op, self.net, self.source, self.addr,
                               str(self.err), self.text, self.__dict__))

    def timeout(self) -> bool:
        return False

    def temporary(self) -> bool:
        return False


def _rebuild_tls(cls: type, op: str, net: str, source: Any, addr: Any, err: str, text: str,
                 state: dict) -> TLSError:
    e = cls(op, net, source, addr, err, text=text)
    e.__dict__.update(state)
    return e


class CertificateVerificationError(TLSError, ssl.SSLCertVerificationError):
    """The peer's certificate did not verify (Go: tls.CertificateVerificationError).

    ``host`` is the name checked (the server name, or the peer's address),
    ``verify_code`` and ``verify_message`` are OpenSSL's: "Hostname mismatch,
    certificate is not valid for 'example.com'.", "unable to get local issuer
    certificate"...  ``str()``: "handshake tcp a->b: tls: failed to verify
    certificate for 'example.com': Hostname mismatch, ..."."""

    host: str | None = None
    verify_code: int | None = None
    verify_message: str | None = None


CertificateVerifyError = CertificateVerificationError  # the spelling


class RecordHeaderError(TLSError):
    """The peer does not speak TLS: its first bytes are not a TLS record
    (Go: tls.RecordHeaderError), e.g. plain HTTP sent to a TLS port.
    ``record_header`` holds the first bytes received (up to 5)."""

    record_header: bytes = b""


class UnexpectedEOFError(TLSError, ssl.SSLEOFError):
    """The peer closed the connection without a TLS close_notify alert, so
    the data may have been cut short (Go: io.ErrUnexpectedEOF)."""


def _ssl_text(err: Any) -> str:
    if not isinstance(err, ssl.SSLError):
        return str(err)
    reason = err.reason or ""
    for pre in ("SSLV3_ALERT_", "TLSV1_ALERT_", "TLSV13_ALERT_"):
        if reason.startswith(pre):  # Go: "remote error: tls: bad certificate"
            return "remote error: tls: " + reason[len(pre):].lower().replace("_", " ")
    if reason:
        return "tls: " + reason.lower().replace("_", " ")
    return "tls: " + (str(err.args[1]) if len(err.args) > 1 else str(err))


# --------------------------------------------------------------------------
# Config


@dataclass(frozen=True)
class Certificate:
    """A certificate chain and its private key, as PEM files (Go:
    tls.Certificate from LoadX509KeyPair).  ``keyfile`` may be None when the
    key is in ``certfile``."""

    certfile: str
    keyfile: str | None = None
    password: str | bytes | None = field(default=None, repr=False)


def load_x509_key_pair(certfile: str | os.PathLike, keyfile: str | os.PathLike | None = None,
                       password: str | bytes | None = None) -> Certificate:
    """Check that ``certfile``'s chain and ``keyfile``'s key load and match,
    and return them as a Certificate for ``Config.certificates`` (Go:
    LoadX509KeyPair).  Raises ssl.SSLError or OSError naming the file."""
    c = Certificate(os.fspath(certfile), None if keyfile is None else os.fspath(keyfile),
                    password)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(c.certfile, c.keyfile, password)
    except ssl.SSLError as e:
        raise ssl.SSLError(e.errno, f"tls: load_x509_key_pair({c.certfile!r}, {c.keyfile!r}): "
                                    f"{e}") from None
    return c


@dataclass
class Config:
    """TLS settings for client, server, dial and listen (Go: tls.Config).

    * ``server_name``: the name a client sends (SNI) and checks the server's
      certificate against; dial fills it in from the address.  An IP address
      is checked against the certificate's IP SANs and is not sent as SNI.
    * ``root_cas``: the CAs a client trusts: a PEM file, a directory of
      hashed certificates, or PEM text (str/bytes); None = the system's store.
    * ``certificates``: Certificates (or (certfile, keyfile) pairs) this side
      presents: required for a server, optional for a client (client auth).
    * ``next_protos``: ALPN protocols in preference order, e.g.
      ``["h2", "http/1.1"]``.
    * ``insecure_skip_verify``: a client accepts any certificate and any
      name.  For tests only: anyone in the middle can read and change the
      traffic.
    * ``client_auth``: NO_CLIENT_CERT, VERIFY_CLIENT_CERT_IF_GIVEN or
      REQUIRE_AND_VERIFY_CLIENT_CERT; ``client_cas``: the CAs a server trusts
      for client certificates (as root_cas; None = the system's store).
    * ``min_version``/``max_version``: VERSION_TLS12, VERSION_TLS13 (Go's
      default minimum is TLS 1.2, and so is gort's).
    * ``cipher_suites``: an OpenSSL cipher string for TLS 1.2 (None = OpenSSL's
      default); ``key_log_file``: NSS key log for Wireshark (debugging only).

    As in Go, do not change a Config once it has been used: the
    ssl.SSLContext made from it on first use is kept and reused.
    """

    server_name: str | None = None
    root_cas: Any = None
    certificates: Sequence[Certificate | tuple[str, str]] = ()
    next_protos: Sequence[str] = ()
    insecure_skip_verify: bool = False
    client_auth: int = NO_CLIENT_CERT
    client_cas: Any = None
    min_version: ssl.TLSVersion | None = VERSION_TLS12
    max_version: ssl.TLSVersion | None = None
    cipher_suites: str | None = None
    key_log_file: str | None = None
    _contexts: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def context(self, server_side: bool) -> ssl.SSLContext:
        """The ssl.SSLContext for a client (False) or server (True), made once."""
        ctx = self._contexts.get(server_side)
        if ctx is None:
            # Loading the system's CA store reads and parses some hundred
            # certificates (tens of ms): on a worker thread, so the other
            # goroutines of this M keep running.  Two Ms may both build one;
            # setdefault keeps the first.
            ctx = self._contexts.setdefault(server_side, blocking(self._build, server_side))
        return ctx

    def _build(self, server_side: bool) -> ssl.SSLContext:
        if server_side:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            if not self.certificates:
                raise ValueError("gort.net.tls: server: the Config has no certificates "
                                 "(Go: tls: neither Certificates, GetCertificate, nor "
                                 "GetConfigForClient set in Config)")
            ca = self.client_cas
            mode = self.client_auth
            if mode == NO_CLIENT_CERT:
                ctx.verify_mode = ssl.CERT_NONE
            elif mode in (VERIFY_CLIENT_CERT_IF_GIVEN, REQUIRE_AND_VERIFY_CLIENT_CERT):
                ctx.verify_mode = (ssl.CERT_OPTIONAL if mode == VERIFY_CLIENT_CERT_IF_GIVEN
                                   else ssl.CERT_REQUIRED)
                _load_cas(ctx, ca, "client_cas")
            elif mode in (REQUEST_CLIENT_CERT, REQUIRE_ANY_CLIENT_CERT):
                raise ValueError("gort.net.tls: Config.client_auth: REQUEST_CLIENT_CERT and "
                                 "REQUIRE_ANY_CLIENT_CERT (a client certificate taken without "
                                 "verification) are not possible with Python's ssl module; "
                                 "use VERIFY_CLIENT_CERT_IF_GIVEN or "
                                 "REQUIRE_AND_VERIFY_CLIENT_CERT")
            else:
                raise ValueError(f"gort.net.tls: Config.client_auth: unknown value {mode!r}")
            # Record the SNI the client sent, for connection_state().server_name.
            ctx.sni_callback = _record_sni
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if self.insecure_skip_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            else:
                _load_cas(ctx, self.root_cas, "root_cas")
        for c in self.certificates:
            if isinstance(c, tuple):
                c = Certificate(*c)
            ctx.load_cert_chain(c.certfile, c.keyfile, c.password)
        if self.next_protos:
            ctx.set_alpn_protocols(list(self.next_protos))
        if self.min_version is not None:
            ctx.minimum_version = self.min_version
        if self.max_version is not None:
            ctx.maximum_version = self.max_version
        if self.cipher_suites:
            ctx.set_ciphers(self.cipher_suites)
        if self.key_log_file:
            ctx.keylog_filename = self.key_log_file
        return ctx


def _load_cas(ctx: ssl.SSLContext, cas: Any, what: str) -> None:
    if cas is None:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH if what == "root_cas"
                               else ssl.Purpose.CLIENT_AUTH)
    elif isinstance(cas, bytes) or (isinstance(cas, str) and "-----BEGIN" in cas):
        ctx.load_verify_locations(cadata=cas.decode() if isinstance(cas, bytes) else cas)
    elif isinstance(cas, (str, os.PathLike)):
        p = os.fspath(cas)
        if os.path.isdir(p):
            ctx.load_verify_locations(capath=p)
        else:
            ctx.load_verify_locations(cafile=p)
    else:
        raise TypeError(f"gort.net.tls: Config.{what}: a PEM file or directory path, or PEM "
                        f"text, not {type(cas).__name__}")


# _ssl.Certificate.public_bytes's DER format (public in ssl only since 3.13)
_ENCODING_DER = getattr(ssl, "ENCODING_DER", None) or getattr(ssl._ssl, "ENCODING_DER", 2)


def _ders(get_chain: Any) -> list[bytes]:
    # (3.11's server side gives [None] when the client sent no certificate)
    return [c.public_bytes(_ENCODING_DER) for c in (get_chain() or ()) if c is not None]


def _record_sni(sslobj: Any, name: str | None, ctx: ssl.SSLContext) -> None:
    sslobj._gort_sni = name


def _context(config: Config | ssl.SSLContext | None, server_side: bool) -> ssl.SSLContext:
    if config is None:
        config = Config()
    if isinstance(config, ssl.SSLContext):
        return config
    if isinstance(config, Config):
        return config.context(server_side)
    raise TypeError("gort.net.tls: config must be a gort.net.tls.Config or an ssl.SSLContext, "
                    f"not {type(config).__name__}")


# --------------------------------------------------------------------------
# ConnectionState


@dataclass(frozen=True)
class ConnectionState:
    """Go: tls.ConnectionState.

    ``version`` is an ssl.TLSVersion (== Go's VersionTLS13 etc. as an int),
    ``cipher_suite`` OpenSSL's name, ``negotiated_protocol`` the ALPN result
    (None if none), ``server_name`` the SNI (sent by the client or seen by
    the server), ``peer_certificates`` the peer's chain as it sent it, DER
    bytes, leaf first; ``verified_chains`` the chain OpenSSL verified (leaf
    to root, as a list of one chain; Go may report several), empty when
    nothing was verified; ``verified`` says whether it was."""

    version: ssl.TLSVersion | None
    handshake_complete: bool
    did_resume: bool
    cipher_suite: str | None
    negotiated_protocol: str | None
    server_name: str | None
    peer_certificates: list[bytes] = field(default_factory=list)
    verified_chains: list[list[bytes]] = field(default_factory=list)
    verified: bool = False


# --------------------------------------------------------------------------
# Conn


class Conn(_netconn.Conn):
    """A TLS connection over a gort stream Conn (Go: *tls.Conn).

    ``read``/``read_into``/``write`` run the handshake first if it has not
    run; after that they carry application data.  Every deadline method is
    the wrapped Conn's: a deadline interrupts a handshake, read or write in
    progress, and an expired one fails the next call at once.  One reader
    and one writer may run at once (other readers, or writers, queue).
    """

    __slots__ = ("_conn", "_sslobj", "_ssl", "_incoming", "_outgoing", "_server_side", "_hs_done",
                 "_hs_err", "_hs_mu", "_in_mu", "_out_mu", "_ssl_mu", "_rerr", "_werr", "_eof",
                 "_sent_close", "_closing", "_host")

    def __init__(self, conn: _netconn.Conn, context: ssl.SSLContext, server_side: bool,
                 server_name: str | None = None) -> None:
        if not isinstance(conn, _netconn.Conn) or isinstance(conn, Conn):
            raise TypeError("gort.net.tls: conn must be a gort.net stream Conn (from "
                            "gort.net.dial or accept, not already a tls.Conn), not "
                            f"{type(conn).__name__}")
        if not conn.fd.isStream:
            raise ValueError(f"gort.net.tls: conn must be a stream connection, not {conn.net}")
        super().__init__(conn.fd, conn.net, conn.local_addr, conn.remote_addr)
        self._conn = conn
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._server_side = server_side
        self._sslobj = context.wrap_bio(self._incoming, self._outgoing, server_side=server_side,
                                        server_hostname=None if server_side else server_name)
        # The C object under ssl.SSLObject (whose methods only call through
        # to it): one Python frame less per read, write and pending().
        self._ssl = getattr(self._sslobj, "_sslobj", self._sslobj)
        self._host = server_name
        self._hs_done = False
        self._hs_err: BaseException | None = None
        self._hs_mu = Mutex()
        self._in_mu = Mutex()
        self._out_mu = Mutex()
        self._ssl_mu = threading.Lock()
        self._rerr: BaseException | None = None  # sticky read error (Go: c.in.err)
        self._werr: BaseException | None = None  # sticky write error (Go: c.out.err)
        self._eof = False  # close_notify received
        self._sent_close = False  # close_notify sent
        self._closing = False

    def __repr__(self) -> str:
        state = "closed" if self.fd.fdmu.state & mutexClosed else f"fd={self.fd.sysfd}"
        role = "server" if self._server_side else "client"
        return f"<gort.net.tls.Conn {role} {self.net} {self._laddr}->{self._raddr} {state}>"

    def net_conn(self) -> _netconn.Conn:
        """The Conn underneath (Go: NetConn).  Reading or writing it directly
        corrupts the TLS stream."""
        return self._conn

    # -- errors ---------------------------------------------------------------

    def _tls_error(self, op: str, e: ssl.SSLError) -> BaseException:
        laddr, raddr, net = self._laddr, self._raddr, self.net
        if isinstance(e, ssl.SSLCertVerificationError):
            host = str(raddr) if self._server_side or not self._host else self._host
            what = "client certificate from" if self._server_side else "certificate for"
            msg = e.verify_message or _ssl_text(e)
            err = CertificateVerificationError(
                op, net, laddr, raddr, e, text=f"tls: failed to verify {what} {host!r}: {msg}")
            err.host = host
            err.verify_code = e.verify_code
            err.verify_message = e.verify_message
            return err
        if isinstance(e, ssl.SSLEOFError):
            return UnexpectedEOFError(op, net, laddr, raddr, e,
                                      text="tls: unexpected EOF (the peer closed the "
                                           "connection without a close_notify alert)")
        if op == "handshake" and e.reason in _NOT_TLS:
            err = RecordHeaderError(op, net, laddr, raddr, e,
                                    text="tls: first record does not look like a TLS "
                                         f"handshake ({_ssl_text(e)[5:]})")
            return err
        return TLSError(op, net, laddr, raddr, e)

    def _closed_error(self, op: str) -> BaseException:
        return NetClosedError(op, self.net, self._laddr, self._raddr)

    # -- moving bytes ---------------------------------------------------------

    def _fill(self) -> bytes:
        """Read what the socket has into the incoming BIO; returns it (b"" at EOF)."""
        try:
            data = self.fd.read(_READ_CHUNK)
        except OSError as e:
            raise self._err("read", e, "read") from None
        if data:
            self._incoming.write(data)
        return data

    def _flush(self, nplain: int = 0) -> None:
        """Send everything in the outgoing BIO (the caller holds out_mu or
        hs_mu)."""
        with self._ssl_mu:
            data = self._outgoing.read()
        if data:
            self._send(data, nplain)

    def _send(self, data: bytes, nplain: int) -> None:
        """Write records to the socket.  A failure is sticky: the record
        stream may be cut mid-record.  ``nplain``: the plaintext bytes sent
        in full before these, for the error's ``n``."""
        try:
            self.fd.write(data)
        except OSError as e:
            w = self._err("write", e, "write")
            w.n = nplain  # type: ignore[union-attr]
            self._werr = w
            raise w from None

    # -- handshake ------------------------------------------------------------

    def handshake(self) -> None:
        """Run the TLS handshake if it has not run (Go: Handshake).  read and
        write call it; call it yourself to see handshake errors apart from
        I/O, or to learn connection_state() before any data moves.  Its
        reads and writes honour the Conn's deadlines.  A failed handshake
        fails every later call with the same error, as in Go."""
        if self._hs_done:
            return
        self._hs_mu.lock()
        try:
            if self._hs_err is not None:
                raise self._hs_err
            if not self._hs_done:
                self._handshake()
        finally:
            self._hs_mu.unlock()

    Handshake = handshake

    def _handshake(self) -> None:
        sslobj = self._sslobj
        first = b""  # the first bytes the peer sent, for RecordHeaderError
        try:
            while True:
                if self.fd.fdmu.state & mutexClosed:
                    raise self._closed_error("handshake")
                try:
                    with self._ssl_mu:
                        sslobj.do_handshake()
                    done = True
                except ssl.SSLWantReadError:
                    done = False
                except ssl.SSLError as e:
                    err = self._tls_error("handshake", e)
                    if isinstance(err, RecordHeaderError):
                        # Not a TLS peer: no alert (Go sends none either), so
                        # the caller may still answer in clear text.
                        err.record_header = first[:5]
                        with self._ssl_mu:
                            self._outgoing.read()
                    else:
                        try:
                            self._flush()  # the alert that tells the peer why
                        except OSError:
                            pass
                    raise err from None
                self._flush()
                if done:
                    self._hs_done = True
                    return
                data = self._fill()
                if not first:
                    first = data
                if not data:
                    raise UnexpectedEOFError(
                        "handshake", self.net, self._laddr, self._raddr, "EOF",
                        text="tls: the peer closed the connection during the handshake")
        except BaseException as e:
            if isinstance(e, OSError):
                self._hs_err = e
            raise

    # -- reads ----------------------------------------------------------------

    def read(self, n: int = 65536) -> bytes:
        """Read up to n bytes of application data; b"" once the peer has sent
        close_notify.  Raises UnexpectedEOFError if the peer closed without
        it, DeadlineExceededError, NetClosedError, TLSError."""
        if n.__class__ is not int or n <= 0:
            n = _netconn.check_size(n, "read")
            if n == 0:
                if self.fd.fdmu.state & mutexClosed:
                    raise self._closed_error("read")
                return b""
        if not self._hs_done:
            self.handshake()
        self._in_mu.lock()
        try:
            return self._read(n, None)
        finally:
            self._in_mu.unlock()

    def read_into(self, buf: Any) -> int:
        """Read into a writable buffer; returns the count, 0 once the peer
        has sent close_notify (Go: Read)."""
        if buf.__class__ is not bytearray:
            try:
                mv = memoryview(buf)
            except TypeError:
                raise TypeError("gort.net.tls: read_into: buf must be a writable bytes-like "
                                f"object, not {type(buf).__name__}") from None
            if mv.readonly:
                raise TypeError(f"gort.net.tls: read_into: buf is read-only "
                                f"({type(buf).__name__})")
            buf = mv if mv.format == "B" and mv.ndim == 1 else mv.cast("B")
        n = len(buf)
        if n == 0:
            if self.fd.fdmu.state & mutexClosed:
                raise self._closed_error("read")
            return 0
        if not self._hs_done:
            self.handshake()
        self._in_mu.lock()
        try:
            return self._read(n, buf)
        finally:
            self._in_mu.unlock()

    def _read(self, n: int, buf: Any) -> Any:
        # Go: Conn.Read -> readRecordOrCCS -> readFromUntil(c.conn, ...)
        if self.fd.fdmu.state & mutexClosed:
            raise self._closed_error("read")
        if self._rerr is not None:
            raise self._rerr
        sslc = self._ssl
        if self._incoming.pending or sslc.pending():
            self._check_read()  # buffered data still honours an expired deadline
        elif self._eof:
            return b"" if buf is None else 0
        else:
            # Nothing to decrypt yet: wait for the network first (this is
            # _fill_or_eof, inlined for the common case).
            try:
                data = self.fd.read(_READ_CHUNK)
            except OSError as e:
                raise self._err("read", e, "read") from None
            if not data:
                self._eof_error()
            self._incoming.write(data)
        while True:
            try:
                with self._ssl_mu:
                    r = sslc.read(n) if buf is None else sslc.read(n, buf)
            except ssl.SSLWantReadError:
                r = None  # a partial record: read more
            except ssl.SSLZeroReturnError:
                # close_notify after ours was sent (SSL_read reports it as an
                # error then, not as b"")
                r = b"" if buf is None else 0
            except ssl.SSLError as e:
                self._rerr = self._tls_error("read", e)
                raise self._rerr from None
            if self._outgoing.pending:
                # A post-handshake message wanted an answer (a TLS 1.3
                # KeyUpdate): send it, in order with the writers.
                self._out_mu.lock()
                try:
                    self._flush()
                finally:
                    self._out_mu.unlock()
            if r is not None:
                if not r:
                    self._eof = True  # close_notify: Go's io.EOF
                return r
            self._fill_or_eof()

    def _fill_or_eof(self) -> None:
        if not self._fill():
            self._eof_error()

    def _eof_error(self) -> None:
        if self.fd.fdmu.state & mutexClosed:
            raise self._closed_error("read")
        self._rerr = UnexpectedEOFError(
            "read", self.net, self._laddr, self._raddr, "EOF",
            text="tls: unexpected EOF (the peer closed the connection without a "
                 "close_notify alert)")
        raise self._rerr

    def _check_read(self) -> None:
        pd = self.fd.pd
        if pd is not None and (pd.closing or pd.rd or pd.everr):
            res = netpollcheckerr(pd, "r")
            if res != pollNoError:
                raise self._err("read", convertErr(res))

    # -- writes ---------------------------------------------------------------

    def write(self, data: Any) -> int:
        """Write all of data as TLS records; returns len(data) in bytes.

        Raises DeadlineExceededError, NetClosedError, ConnResetError,
        ConnBrokenPipeError (also after close_write), TLSError; ``err.n``
        is the count of bytes sent in full before it.  After a failed write
        the record stream is broken and every later write fails with the
        same error (Go: "After a Write has timed out, the TLS state is
        corrupt and all future writes will return the same error")."""
        if data.__class__ is not bytes:
            data = as_bytes_like(data, "write")
        if not self._hs_done:
            self.handshake()
        self._out_mu.lock()
        try:
            if self._werr is not None:
                raise self._werr
            if self.fd.fdmu.state & mutexClosed:
                raise self._closed_error("write")
            if self._sent_close:
                raise ConnBrokenPipeError("write", self.net, self._laddr, self._raddr,
                                          "tls: protocol is shutdown")
            total = len(data)
            if total <= _WRITE_CHUNK:  # the common case, inlined
                if total:
                    try:
                        with self._ssl_mu:
                            self._ssl.write(data)
                            out = self._outgoing.read()
                    except ssl.SSLError as e:
                        self._werr = self._tls_error("write", e)
                        raise self._werr from None
                    try:
                        self.fd.write(out)
                    except OSError as e:
                        w = self._err("write", e, "write")
                        w.n = 0  # type: ignore[union-attr]  # the record did not all go
                        self._werr = w
                        raise w from None
                return total
            done = 0
            with memoryview(data) as mv:
                while done < total:
                    end = min(done + _WRITE_CHUNK, total)
                    self._encrypt(mv[done:end])
                    self._flush(done)
                    done = end
            return total
        finally:
            self._out_mu.unlock()

    def _encrypt(self, data: Any) -> None:
        try:
            with self._ssl_mu:
                self._ssl.write(data)
        except ssl.SSLError as e:
            self._werr = self._tls_error("write", e)
            raise self._werr from None

    # -- closing --------------------------------------------------------------

    def _close_notify(self) -> None:
        # Go: closeNotify.  The caller holds out_mu.
        if self._sent_close or self._werr is not None:
            return
        self._sent_close = True
        try:
            with self._ssl_mu:
                self._sslobj.unwrap()  # SSL_shutdown: puts close_notify in the BIO
        except ssl.SSLWantReadError:
            pass  # it would wait for the peer's close_notify; we do not
        except ssl.SSLError as e:
            raise self._tls_error("close", e) from None
        self._flush()

    def close(self) -> None:
        """Send close_notify (if the handshake is done), then close the
        connection.  Blocked reads and writes fail with NetClosedError.  If a
        write is in progress, close() does not wait for it to send the
        alert: it only closes (Go does the same).  Closing twice is allowed."""
        if self._closing:
            self._conn.close()
            return
        self._closing = True
        if self._hs_done and self._out_mu.try_lock():
            try:
                if not (self.fd.fdmu.state & mutexClosed):
                    self.set_write_deadline(_now() + _CLOSE_NOTIFY_TIMEOUT)
                    self._close_notify()
            except OSError:
                pass  # Go returns it wrapped, after closing anyway; see the docstring
            finally:
                self._out_mu.unlock()
        self._conn.close()

    def close_write(self) -> None:
        """Send close_notify and shut down the write side: the peer reads
        b"" (a clean end of stream); this side can still read.  Later writes
        fail with ConnBrokenPipeError."""
        if not self._hs_done:
            self.handshake()
        self._out_mu.lock()
        try:
            if self._werr is not None:
                raise self._werr
            if self.fd.fdmu.state & mutexClosed:
                raise self._closed_error("close")
            self._close_notify()
        finally:
            self._out_mu.unlock()
        self._conn.close_write()

    def close_read(self) -> None:
        """Shut down the reading side of the TCP connection; later reads fail."""
        self._conn.close_read()

    # -- state ----------------------------------------------------------------

    def connection_state(self) -> ConnectionState:
        """The negotiated parameters (Go: ConnectionState).  Before the
        handshake, everything but ``server_name`` is empty."""
        sslobj = self._sslobj
        done = self._hs_done
        if self._server_side:
            sni = getattr(sslobj, "_gort_sni", None)
        else:
            sni = self._host
        if not done:
            return ConnectionState(None, False, False, None, None, sni)
        sslc = self._ssl
        with self._ssl_mu:
            version = sslc.version()
            cipher = sslc.cipher()
            alpn = sslc.selected_alpn_protocol()
            resumed = self._sslobj.session_reused
            leaf = sslc.getpeercert(True)
            # The C object has had these since Python 3.10 (public on
            # SSLObject since 3.13); older ones give the leaf only.
            unverified = getattr(sslc, "get_unverified_chain", None)
            verified_chain = getattr(sslc, "get_verified_chain", None)
            certs = _ders(unverified) if unverified else []
            chain = _ders(verified_chain) if verified_chain else []
        if not certs and leaf:
            certs = [leaf]
        verified = bool(certs) and self._sslobj.context.verify_mode != ssl.CERT_NONE
        return ConnectionState(
            _VERSIONS.get(version) if version else None, True, bool(resumed),
            cipher[0] if cipher else None, alpn, sni, peer_certificates=certs,
            verified_chains=[chain] if verified and chain else [], verified=verified)

    ConnectionState = connection_state


# --------------------------------------------------------------------------
# Listener


class Listener(_netconn.Listener):
    """A TLS listener (Go: tls.listener): ``accept()`` returns a server-side
    tls.Conn whose handshake runs on its first read or write (or
    ``handshake()``), so a slow client never holds up accept."""

    __slots__ = ("_inner", "_ctx")

    def __init__(self, inner: _netconn.Listener, context: ssl.SSLContext) -> None:
        super().__init__(inner.fd, inner.net, inner.addr, inner._conncls)
        self._inner = inner
        self._ctx = context

    def __repr__(self) -> str:
        state = "closed" if self.fd.fdmu.state & mutexClosed else f"fd={self.fd.sysfd}"
        return f"<gort.net.tls.Listener {self.net} {self._laddr} {state}>"

    def accept(self) -> Conn:  # type: ignore[override]
        """Wait for the next connection; returns it as a server tls.Conn."""
        return Conn(self._inner.accept(), self._ctx, True)

    def close(self) -> None:
        self._inner.close()


# --------------------------------------------------------------------------
# Constructors (Go: tls.go)


def client(conn: _netconn.Conn, config: Config | ssl.SSLContext | None = None, *,
           server_name: str | None = None) -> Conn:
    """A client-side TLS Conn over ``conn`` (Go: tls.Client).  No I/O happens
    until the handshake (explicit, or the first read/write).

    ``server_name`` (or ``config.server_name``) is the name to send and
    verify; with a Config, one of it and ``insecure_skip_verify`` is
    required, as in Go.  With an ssl.SSLContext, the context's own
    check_hostname/verify_mode rule."""
    ctx = _context(config, False)
    name = server_name
    if isinstance(config, Config) or config is None:
        cfg = config or Config()
        name = name or cfg.server_name
        if not name and not cfg.insecure_skip_verify:
            raise ValueError("gort.net.tls: client: either server_name or "
                             "insecure_skip_verify must be set in the Config")
    return Conn(conn, ctx, False, name or None)


def server(conn: _netconn.Conn, config: Config | ssl.SSLContext) -> Conn:
    """A server-side TLS Conn over ``conn`` (Go: tls.Server).  The Config
    must have certificates (ValueError if not)."""
    return Conn(conn, _context(config, True), True)


def _host_of(network: str, address: Any) -> str:
    host, _ = split_address(address, network, "dial", network)
    if "%" in host:
        host = host.split("%", 1)[0]
    return host


def dial(network: str, address: Any, config: Config | ssl.SSLContext | None = None, *,
         timeout: float | None = None) -> Conn:
    """Dial ``address`` and run the TLS handshake (Go: tls.Dial /
    DialWithDialer): returns a handshaken client Conn.

    ``timeout`` (seconds) bounds the connect *and* the handshake, as Go's
    Dialer.Timeout does in DialWithDialer; when it passes, the error is a
    DeadlineExceededError with op "dial".  The server name is the address's
    host unless the Config names one.  None = Config() (the system's CAs)."""
    ctx = _context(config, False)
    if isinstance(config, Config) and config.server_name:
        name = config.server_name
    else:
        name = _host_of(network, address)
    deadline = None if timeout is None else _now() + timeout
    raw = _net_dial(network, address, timeout=timeout)
    ok = False
    try:
        if deadline is not None:
            raw.set_deadline(deadline)
        if isinstance(config, Config) and config.insecure_skip_verify:
            tc = Conn(raw, ctx, False, name or None)
        else:
            tc = Conn(raw, ctx, False, name)
        try:
            tc.handshake()
        except DeadlineExceededError as e:
            raise DeadlineExceededError("dial", network, e.source, e.addr) from e
        if deadline is not None:
            raw.set_deadline(None)
        ok = True
        return tc
    finally:
        if not ok:
            raw.close()


def listen(network: str, address: Any, config: Config | ssl.SSLContext, *,
           backlog: int | None = None, reuse_port: bool = False) -> Listener:
    """Listen for TLS connections (Go: tls.Listen).  A Config must have
    certificates: ValueError at once if not."""
    ctx = _context(config, True)
    return Listener(_net_listen(network, address, backlog=backlog, reuse_port=reuse_port), ctx)
