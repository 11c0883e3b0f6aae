"""The file objects of Conn.makefile (Python: socket.makefile, socket.SocketIO).

Go has no counterpart: a Go net.Conn is already an io.Reader and io.Writer,
so library code that takes those takes a connection.  Python library code
takes file objects, so ``Conn.makefile`` returns the standard io stack --
io.BufferedReader/BufferedWriter/BufferedRWPair, and io.TextIOWrapper for
text -- over ``ConnIO``, a RawIOBase whose readinto and write are the
Conn's read_into and write.  docs/bufio.md has the rules (deadlines, the
timed-out rule, close).
"""

from __future__ import annotations

import io
from typing import Any

from .conn import Conn
from .errors import errNetClosing, wrap_error

__all__ = ["ConnIO", "makefile"]


class ConnIO(io.RawIOBase):
    """The raw file under Conn.makefile (Python: socket.SocketIO): readinto
    is the Conn's read_into, write its write.

    Where it departs from socket.SocketIO: a socket counts its files
    (``_io_refs``) and its close() only closes the fd when the last file is
    closed too.  A Conn's close() closes at once, as Go's Close does: it
    must wake a read blocked in another goroutine, whatever files exist; the
    files then raise NetClosedError.  Closing a file never closes the Conn,
    as in Python.
    """

    def __init__(self, conn: Conn, mode: str) -> None:
        if mode not in ("r", "w", "rw", "rb", "wb", "rwb"):
            raise ValueError(f"invalid mode: {mode!r}")
        super().__init__()
        self._conn: Conn | None = conn
        if "b" not in mode:
            mode += "b"
        self._mode = mode
        self._reading = "r" in mode
        self._writing = "w" in mode
        self._timeout_occurred = False

    def readinto(self, b: Any) -> int:
        self._checkClosed()
        if not self._reading:
            raise io.UnsupportedOperation("not readable")
        if self._timeout_occurred:
            raise OSError("cannot read from timed out object")
        try:
            return self._conn.read_into(b)  # type: ignore[union-attr]
        except TimeoutError:
            self._timeout_occurred = True
            raise

    def write(self, b: Any) -> int:
        self._checkClosed()
        if not self._writing:
            raise io.UnsupportedOperation("not writable")
        try:
            return self._conn.write(b)  # type: ignore[union-attr]
        except OSError as e:
            # Conn.write is all-or-raise with err.n sent; the buffered writer
            # above wants the raw short count, or it sends those bytes twice.
            # The error comes back on the next write (an expired deadline, a
            # closed or broken connection all fail again at once).
            n = getattr(e, "n", 0)
            if isinstance(n, int) and n > 0:
                return n
            raise

    def readable(self) -> bool:
        self._checkClosed()
        return self._reading

    def writable(self) -> bool:
        self._checkClosed()
        return self._writing

    def seekable(self) -> bool:
        self._checkClosed()
        return False

    def fileno(self) -> int:
        self._checkClosed()
        return self._conn.fileno()  # type: ignore[union-attr]

    @property
    def name(self) -> int:
        return self.fileno() if not self.closed else -1

    @property
    def mode(self) -> str:
        return self._mode

    def close(self) -> None:
        """Close the file, not the Conn."""
        if self.closed:
            return
        super().close()
        self._conn = None


def makefile(conn: Conn, mode: str, buffering: int | None, encoding: str | None,
              errors: str | None, newline: str | None) -> Any:
    """Python's socket.makefile, on a Conn."""
    if not isinstance(mode, str) or not set(mode) <= {"r", "w", "b"} or not mode \
            or len(set(mode)) != len(mode):
        raise ValueError(f"gort.net: makefile: invalid mode {mode!r} "
                         "(only r, w, b allowed, each once)")
    writing = "w" in mode
    reading = "r" in mode or not writing
    binary = "b" in mode
    if binary and (encoding is not None or errors is not None or newline is not None):
        raise ValueError("gort.net: makefile: encoding, errors and newline are for text "
                         "modes, not " + repr(mode))
    if buffering is None:
        buffering = -1
    elif isinstance(buffering, bool) or not isinstance(buffering, int):
        raise TypeError(f"gort.net: makefile: buffering must be an int or None, "
                        f"not {type(buffering).__name__}")
    if buffering < 0:
        buffering = io.DEFAULT_BUFFER_SIZE
    if conn.closed:
        raise wrap_error("makefile", conn.net, conn.local_addr, conn.remote_addr,
                         errNetClosing())
    rawmode = ("r" if reading else "") + ("w" if writing else "")
    raw = ConnIO(conn, rawmode)
    if buffering == 0:
        if not binary:
            raise ValueError("gort.net: makefile: unbuffered streams must be binary")
        return raw
    buffer: Any
    if reading and writing:
        buffer = io.BufferedRWPair(raw, raw, buffering)
    elif reading:
        buffer = io.BufferedReader(raw, buffering)
    else:
        buffer = io.BufferedWriter(raw, buffering)
    if binary:
        return buffer
    text = io.TextIOWrapper(buffer, io.text_encoding(encoding), errors, newline)
    text.mode = mode  # type: ignore[misc]
    return text
