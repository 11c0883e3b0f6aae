"""Network names and addresses: parsing and the Addr types.

Go: src/net/ipsock.go (SplitHostPort, JoinHostPort, internetAddrList),
src/net/port.go (parsePort), src/net/tcpsock.go / udpsock.go / unixsock.go
(TCPAddr, UDPAddr, UnixAddr) and src/net/dial.go (parseNetwork).

Where gort differs from Go, and why:

* ``TCPAddr`` and ``UDPAddr`` are named tuples ``(ip, port)``, so they
  compare equal to the ``(host, port)`` tuples Python's socket module uses
  and can be passed wherever one is expected; ``str()`` is Go's
  ``"127.0.0.1:80"`` / ``"[::1]:80"``.  An IPv6 zone stays in ``ip``
  (``"fe80::1%eth0"``), as getnameinfo writes it.
* ``UnixAddr`` is a ``str`` (the path), with ``.name`` and ``.network``;
  Linux abstract names are written ``"@name"`` as in Go.
* Only literal IPs are parsed here, without a syscall.  Host names are
  resolved by gort/net/dialer.py through ``getaddrinfo`` on a worker thread.
"""

from __future__ import annotations

import socket
from typing import Any, NamedTuple

from .errors import AddrError, UnknownNetworkError

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
AF_UNIX = getattr(socket, "AF_UNIX", None)
AF_UNSPEC = socket.AF_UNSPEC
_inet_pton = socket.inet_pton

# network -> (family, socket type, canonical "net" name Go prints in errors)
NETWORKS: dict[str, tuple[int, int, str]] = {
    "tcp": (AF_UNSPEC, socket.SOCK_STREAM, "tcp"),
    "tcp4": (AF_INET, socket.SOCK_STREAM, "tcp4"),
    "tcp6": (AF_INET6, socket.SOCK_STREAM, "tcp6"),
    "udp": (AF_UNSPEC, socket.SOCK_DGRAM, "udp"),
    "udp4": (AF_INET, socket.SOCK_DGRAM, "udp4"),
    "udp6": (AF_INET6, socket.SOCK_DGRAM, "udp6"),
}
if AF_UNIX is not None:
    NETWORKS["unix"] = (AF_UNIX, socket.SOCK_STREAM, "unix")
    NETWORKS["unixgram"] = (AF_UNIX, socket.SOCK_DGRAM, "unixgram")
    if hasattr(socket, "SOCK_SEQPACKET"):
        NETWORKS["unixpacket"] = (AF_UNIX, socket.SOCK_SEQPACKET, "unixpacket")


def parse_network(op: str, network: Any, allowed: tuple[str, ...]) -> tuple[int, int, str]:
    """Check the network name (Go: parseNetwork); returns (family, type, net)."""
    if not isinstance(network, str):
        raise TypeError(f"gort.net.{op}: network must be a str such as 'tcp', "
                        f"not {type(network).__name__}")
    if network not in allowed or network not in NETWORKS:
        raise UnknownNetworkError(op, network)
    return NETWORKS[network]


def join_host_port(host: str, port: int | str) -> str:
    """Go: net.JoinHostPort: "host:port", or "[host]:port" when host has a colon."""
    if not isinstance(host, str):
        raise TypeError(f"gort.net.join_host_port: host must be a str, not {type(host).__name__}")
    if isinstance(port, bool) or not isinstance(port, (int, str)):
        raise TypeError("gort.net.join_host_port: port must be an int or a str, not "
                        f"{type(port).__name__}")
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def split_host_port(hostport: str, op: str = "split", net: str = "") -> tuple[str, str]:
    """Go: net.SplitHostPort.  "host:port", "[host]:port" or "[host%zone]:port"
    -> (host, port) as strings.  Raises AddrError with Go's messages."""

    if not isinstance(hostport, str):
        raise TypeError(f"gort.net.split_host_port: hostport must be a 'host:port' str, "
                        f"not {type(hostport).__name__}")

    def bad(why: str) -> AddrError:
        return AddrError(op, net, hostport, why)

    missing_port = "missing port in address"
    too_many_colons = "too many colons in address"
    i = hostport.rfind(":")
    if i < 0:
        raise bad(missing_port)
    j = k = 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise bad("missing ']' in address")
        if end + 1 == len(hostport):
            raise bad(missing_port)
        if end + 1 != i:
            if hostport[end + 1] == ":":
                raise bad(too_many_colons)
            raise bad(missing_port)
        host = hostport[1:end]
        j, k = 1, end + 1
    else:
        host = hostport[:i]
        if ":" in host:
            raise bad(too_many_colons)
    if "[" in hostport[j:]:
        raise bad("unexpected '[' in address")
    if "]" in hostport[k:]:
        raise bad("unexpected ']' in address")
    return host, hostport[i + 1:]


def parse_port(port: Any, proto: str, op: str, net: str, addr: Any) -> int:
    """Go: parsePort + LookupPort.  A port is an int in 0..65535, a decimal
    string, or a service name from /etc/services ("http")."""
    if isinstance(port, bool):
        raise TypeError(f"gort.net.{op}: port must be an int or a str, not bool")
    if isinstance(port, int):
        if 0 <= port <= 65535:
            return port
        raise AddrError(op, net, addr, "invalid port")
    if not isinstance(port, str):
        raise TypeError(f"gort.net.{op}: port must be an int or a str, "
                        f"not {type(port).__name__}")
    if port == "":
        return 0  # Go: an empty port is port 0
    if port.isascii() and (port.isdigit() or (port[0] in "+-" and port[1:].isdigit())):
        p = int(port)
        if 0 <= p <= 65535 and port[0] not in "+-":
            return p
        raise AddrError(op, net, addr, "invalid port")
    try:
        # /etc/services: a local file read, no network (Go parses it itself).
        return socket.getservbyname(port, "udp" if proto.startswith("udp") else "tcp")
    except OSError:
        raise AddrError(op, net, addr, "unknown port") from None


def split_address(address: Any, proto: str, op: str, net: str) -> tuple[str, int]:
    """"host:port", "[v6]:port" or a (host, port) tuple -> (host, port)."""
    if isinstance(address, str):
        host, port = split_host_port(address, op, net)
        return host, parse_port(port, proto, op, net, address)
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        if host is None:
            host = ""
        if not isinstance(host, str):
            raise TypeError(f"gort.net.{op}: host must be a str, not {type(host).__name__}")
        return host, parse_port(port, proto, op, net, address)
    raise TypeError(f"gort.net.{op}: address must be a 'host:port' str or a (host, port) "
                    f"tuple, not {type(address).__name__} {address!r}")


def literal_sockaddr(host: str, port: int, family: int) -> tuple[int, tuple] | None:
    """(family, sockaddr) for a literal IP, None for a name.  No syscall:
    inet_pton only parses (Go: the ParseIP fast path of internetAddrList)."""
    if family != AF_INET6:
        try:
            _inet_pton(AF_INET, host)
            return AF_INET, (host, port)
        except OSError:
            pass
    if family != AF_INET and ":" in host:
        ip, _, zone = host.partition("%")
        try:
            _inet_pton(AF_INET6, ip)
        except OSError:
            return None
        # A zone is an interface name or index (Go: ipv6ZoneCache.index; an
        # unknown name is index 0 there too).  The sockaddr carries it as
        # scope_id and the address without it: CPython's connect/bind would
        # hand "::1%lo" to getaddrinfo, which fails for a name.
        scope = 0
        if zone:
            if zone.isascii() and zone.isdigit():
                scope = int(zone)
            else:
                try:
                    scope = socket.if_nametoindex(zone)
                except (OSError, ValueError):
                    scope = 0
        return AF_INET6, (ip, port, 0, scope)
    return None


def is_ip_literal(host: str) -> bool:
    ip = host.partition("%")[0]
    for fam in (AF_INET, AF_INET6):
        try:
            _inet_pton(fam, ip)
            return True
        except OSError:
            pass
    return False


class TCPAddr(NamedTuple):
    """A TCP endpoint (Go: *net.TCPAddr).  ``str()`` is ``"ip:port"``."""

    ip: str
    port: int

    @property
    def network(self) -> str:
        return "tcp"

    def __str__(self) -> str:
        return join_host_port(self.ip, self.port)


class UDPAddr(NamedTuple):
    """A UDP endpoint (Go: *net.UDPAddr).  ``str()`` is ``"ip:port"``."""

    ip: str
    port: int

    @property
    def network(self) -> str:
        return "udp"

    def __str__(self) -> str:
        return join_host_port(self.ip, self.port)


class UnixAddr(str):
    """A Unix socket path (Go: *net.UnixAddr); a ``str``.  Linux abstract
    names are written with a leading "@" as in Go."""

    network: str

    def __new__(cls, name: str, network: str = "unix") -> UnixAddr:
        self = super().__new__(cls, name)
        self.network = network
        return self

    @property
    def name(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"UnixAddr({str.__repr__(self)}, {self.network!r})"


def sockaddr_to_addr(family: int, sotype: int, sa: Any, net: str = "") -> Any:
    """An OS sockaddr -> TCPAddr / UDPAddr / UnixAddr (Go: sockaddrToTCP...)."""
    if family == AF_UNIX:
        if isinstance(sa, bytes):
            sa = "@" + sa[1:].decode("utf-8", "surrogateescape") if sa[:1] == b"\0" else \
                sa.decode("utf-8", "surrogateescape")
        elif sa.startswith("\0"):
            sa = "@" + sa[1:]
        if sa == "":
            return None
        return UnixAddr(sa, net or "unix")
    if sa is None:
        return None
    ip = sa[0]
    if family == AF_INET6:
        if ip.startswith("::ffff:") and "." in ip:
            ip = ip[7:]  # Go prints an IPv4-mapped address as IPv4 (IP.String, To4)
        elif len(sa) > 3 and sa[3] and "%" not in ip:
            ip = f"{ip}%{_zonename(sa[3])}"  # Go: IPAddr.Zone, from the scope id
    if sotype == socket.SOCK_DGRAM:
        return UDPAddr(ip, sa[1])
    return TCPAddr(ip, sa[1])


def _zonename(index: int) -> str:
    """Go: ipv6ZoneCache.name -- the interface name, else the index."""
    try:
        return socket.if_indextoname(index)
    except (OSError, ValueError, OverflowError):
        return str(index)


def unix_sockaddr(name: str) -> str:
    """A Go unix name -> what bind/connect take ("@x" is Linux's abstract "\\0x")."""
    if name.startswith("@") and len(name) > 1:
        return "\0" + name[1:]
    return name
