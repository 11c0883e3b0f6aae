"""Zero-copy copies between fds: splice(2) and sendfile(2) on the poll FD.

Go: src/internal/poll/splice_linux.go (Splice, spliceDrain, splicePump,
the pipe), src/internal/poll/sendfile_linux.go (SendFile),
src/net/splice_linux.go + sendfile_linux.go (TCPConn.readFrom tries
splice, then sendfile).  gort.io.copy calls ``read_from``, as
Go's io.Copy calls a ReaderFrom.

The bytes never enter Python: a socket-to-socket copy goes socket -> pipe
-> socket inside the kernel (splice moves page references, the pipe is the
kernel buffer between the two), a file-to-socket copy is one sendfile.
Every syscall is non-blocking (SPLICE_F_NONBLOCK on a non-blocking pipe and
sockets; os.splice and os.sendfile retry EINTR themselves, PEP 475); on
EAGAIN the goroutine parks in pollWait on the socket's pollDesc, so
deadlines and close() interrupt a copy as they interrupt a read or a
write.  Each step holds the fdMutex read lock of the source or
the write lock of the destination, as Go's spliceDrain and splicePump do.

Where gort differs from Go, and why:

* Go keeps a sync.Pool of pipes; gort makes one pipe per copy (two fds, one
  pipe2 call), which a copy large enough to want splice does not notice.
* No splice from a socket into a file (Go 1.21's os.File.ReadFrom): it
  measured slower than the loop here (see read_from).
* A copy that fails after the source's bytes reached the pipe loses those
  bytes (at most one chunk), as Go's does: the pipe is closed, not drained.
* Errors carry ``err.n``, the count copied before them (Go returns it
  beside the error).
"""

from __future__ import annotations

import fcntl
import os
import stat
from typing import Any

from gort.netpoll import poll_runtime_pollReset, poll_runtime_pollWait

from .conn import Conn
from .errors import errNetClosing, wrap_error
from .fd_poll import FD, convertErr

__all__ = ["read_from", "stream_conn", "regular_file"]

# Go: maxSpliceSize (the pipe is grown to it) and maxSendfileSize.
maxSpliceSize = 1 << 20
maxSendfileSize = 4 << 20

_SPLICE_NONBLOCK = getattr(os, "SPLICE_F_NONBLOCK", 2)
_HAVE_SPLICE = hasattr(os, "splice")
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux


def stream_conn(x: Any) -> bool:
    """x is a plain gort stream Conn (TCP or Unix stream) whose bytes are
    the fd's bytes.  A subclass that overrides read_into/read/write (a tls
    Conn encrypts) is not: its fd carries other bytes."""
    if not isinstance(x, Conn):
        return False
    t = type(x)
    if t.read_into is not Conn.read_into or t.write is not Conn.write or t.read is not Conn.read:
        return False
    fd = getattr(x, "fd", None)
    return fd is not None and fd.isStream


def regular_file(x: Any) -> int:
    """The fd of x if x is a readable binary Python file object on a
    regular file (sendfile reads those), else -1."""
    if isinstance(x, Conn) or not hasattr(x, "fileno") or hasattr(x, "encoding"):
        return -1
    readable = getattr(x, "readable", None)
    if readable is not None and not readable():
        return -1  # the loop raises io's own "not readable"
    try:
        fd = x.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except (OSError, ValueError, AttributeError):
        pass
    return -1


def _err(c: Conn, op: str, e: BaseException, syscall: str, n: int) -> BaseException:
    w = wrap_error(op, c.net, c.local_addr, c.remote_addr, e, syscall)
    w.n = n  # type: ignore[attr-defined]
    return w


def _lock(fd: FD, read: bool) -> None:
    if not fd.fdmu.rwlock(read):
        raise errNetClosing()


# --------------------------------------------------------------------------
# splice: socket -> pipe -> socket


def _newpipe() -> tuple[int, int]:
    """Go: newPipe -- a non-blocking pipe grown to maxSpliceSize."""
    rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.fcntl(wfd, _F_SETPIPE_SZ, maxSpliceSize)
    except OSError:
        pass  # a smaller pipe only means more, smaller splices
    return rfd, wfd


def _spliceDrain(pipew: int, src: FD, maxn: int) -> int:
    """Go: spliceDrain -- move up to maxn bytes from the socket into the
    (empty) pipe; 0 at EOF.  EAGAIN can only mean the socket is empty."""
    _lock(src, True)
    try:
        pd = src.pd
        res = poll_runtime_pollReset(pd, "r")
        if res:
            raise convertErr(res)
        while True:
            try:
                return os.splice(src.sysfd, pipew, maxn, flags=_SPLICE_NONBLOCK)
            except BlockingIOError:
                res = poll_runtime_pollWait(pd, "r")
                if res:
                    raise convertErr(res) from None
    finally:
        src.readUnlock()


def _splicePump(dst: FD, piper: int, inPipe: int) -> int:
    """Go: splicePump -- move the inPipe bytes in the pipe to the socket;
    EAGAIN can only mean the socket is full."""
    _lock(dst, False)
    written = 0
    try:
        pd = dst.pd
        res = poll_runtime_pollReset(pd, "w")
        if res:
            raise convertErr(res)
        while inPipe:
            try:
                n = os.splice(piper, dst.sysfd, inPipe, flags=_SPLICE_NONBLOCK)
            except BlockingIOError:
                res = poll_runtime_pollWait(pd, "w")
                if res:
                    raise convertErr(res) from None
                continue
            inPipe -= n
            written += n
        return written
    except OSError as e:
        e.n = written  # type: ignore[attr-defined]
        raise
    finally:
        dst.writeUnlock()


def _splice(dst: Conn, src: Conn, remain: int) -> tuple[int, bool]:
    """Go: poll.Splice.  Copy up to remain bytes (all, if < 0) from the src
    socket to the dst socket; returns (written, handled): handled is False
    when the kernel refused splice before any byte moved."""
    rfd, wfd = _newpipe()
    written = 0
    handled = False
    try:
        while remain:
            maxn = maxSpliceSize if remain < 0 or remain > maxSpliceSize else remain
            try:
                inPipe = _spliceDrain(wfd, src.fd, maxn)
            except OSError as e:
                if not handled and getattr(e, "errno", None) == 22:  # EINVAL: no splice here
                    return 0, False
                raise _err(src, "read", e, "splice", written) from None
            handled = True
            if inPipe == 0:
                break
            try:
                n = _splicePump(dst.fd, rfd, inPipe)
            except OSError as e:
                written += e.n  # type: ignore[attr-defined]
                raise _err(dst, "write", e, "splice", written) from None
            written += n
            if remain > 0:
                remain -= n
        return written, True
    finally:
        os.close(rfd)
        os.close(wfd)


# --------------------------------------------------------------------------
# sendfile: file -> socket


def _sendfile(dst: Conn, infd: int, offset: int, remain: int) -> tuple[int, bool]:
    """Go: poll.SendFile.  Send up to remain bytes (to the end of the file,
    if < 0) of infd from offset to the dst socket."""
    fd = dst.fd
    written = 0
    try:
        _lock(fd, False)
    except OSError as e:
        raise _err(dst, "write", e, "sendfile", 0) from None
    try:
        pd = fd.pd
        res = poll_runtime_pollReset(pd, "w")
        if res:
            raise convertErr(res)
        while remain:
            k = maxSendfileSize if remain < 0 or remain > maxSendfileSize else remain
            try:
                n = os.sendfile(fd.sysfd, infd, offset + written, k)
            except BlockingIOError:
                res = poll_runtime_pollWait(pd, "w")
                if res:
                    raise convertErr(res) from None
                continue
            except OSError as e:
                if written == 0 and e.errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP
                    return 0, False  # Go: not handled, fall back to a read/write loop
                raise
            if n == 0:
                break  # end of file
            written += n
            if remain > 0:
                remain -= n
        return written, True
    except OSError as e:
        raise _err(dst, "write", e, "sendfile", written) from None
    finally:
        fd.writeUnlock()


# --------------------------------------------------------------------------


def read_from(dst: Any, src: Any, limit: int) -> tuple[int, bool]:
    """Copy src to dst in the kernel if both are fds that allow it (Go:
    TCPConn.ReadFrom's splice and sendfile);
    returns (written, handled).  handled False: nothing was copied, use a
    read/write loop.  limit < 0 copies to the end of src."""
    if stream_conn(dst):
        if stream_conn(src):
            if _HAVE_SPLICE:
                return _splice(dst, src, limit)
            return 0, False
        infd = regular_file(src)
        if infd >= 0 and hasattr(os, "sendfile"):
            # The file's logical position (a buffered reader may have read
            # ahead of the fd's); sendfile takes an explicit offset, then the
            # file object is moved past what was sent.
            pos = src.tell()
            n, handled = 0, False
            try:
                n, handled = _sendfile(dst, infd, pos, limit)
            except OSError as e:
                n = e.n  # type: ignore[attr-defined]
                raise
            finally:
                if n:
                    src.seek(pos + n)
            return n, handled
        return 0, False
    # Go 1.21's os.File.ReadFrom also splices socket -> file.  gort does
    # not: on this machine's kernel (6.18) splice into a page-cache file
    # cost 1.7 s of CPU per GB against 0.8 for the read/write loop
    # (bench/io_copy.py --only tofile; docs/bufio.md).
    return 0, False
