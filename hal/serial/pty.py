"""Real pseudo-terminals for tests, the emulator and the HIL rig.

`open_pty()` gives one pair in raw mode: the slave's path is a tty any program (pyserial included)
opens like a UART, and the master fd is the far end of the "cable". `PtyBridge` joins two such
pairs with a relay thread, so both ends have a path (what `socat pty,raw pty,raw` does): the flight
software opens one, a HIL rig opens the other through pyserial, as it would two USB adapters.

The helper keeps its own slave fd open, so the master does not see a hang-up (EIO) while the
program on the slave side closes and reopens the port.
"""

from __future__ import annotations

import errno
import os
import selectors
import threading
import tty
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final

_RELAY_CHUNK: Final[int] = 4096


@dataclass
class PtyPair:
    master_fd: int
    slave_fd: int
    path: str
    closed: bool = field(default=False, init=False)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.master_fd)
            os.close(self.slave_fd)

    def __enter__(self) -> PtyPair:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_pty() -> PtyPair:
    """A new pseudo-terminal in raw mode: no echo, no line editing, no CR/LF translation."""
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        path = os.ttyname(slave)
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    return PtyPair(master, slave, path)


class PtyBridge:
    """Two raw pseudo-terminals whose paths `path_a` and `path_b` are joined like a null-modem
    cable. Octets the far side is too slow to take are dropped and counted, as on a UART."""

    def __init__(self) -> None:
        self._a = open_pty()
        try:
            self._b = open_pty()
        except BaseException:
            self._a.close()
            raise
        self.path_a = self._a.path
        self.path_b = self._b.path
        self.relayed = {"a->b": 0, "b->a": 0}
        self.dropped = {"a->b": 0, "b->a": 0}
        for pair in (self._a, self._b):
            os.set_blocking(pair.master_fd, False)
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._relay, name="pty-bridge", daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        routes = {
            self._a.master_fd: (self._b.master_fd, "a->b"),
            self._b.master_fd: (self._a.master_fd, "b->a"),
        }
        with selectors.DefaultSelector() as sel:
            for fd in routes:
                sel.register(fd, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while True:
                for key, _ in sel.select():
                    if key.fd == self._wake_r:
                        return
                    target, direction = routes[key.fd]
                    try:
                        data = os.read(key.fd, _RELAY_CHUNK)
                    except BlockingIOError:
                        continue
                    try:
                        written = os.write(target, data)
                    except BlockingIOError:
                        written = 0
                    except OSError as exc:
                        if exc.errno != errno.EIO:
                            raise
                        written = 0
                    self.relayed[direction] += written
                    self.dropped[direction] += len(data) - written

    def close(self) -> None:
        if not self._a.closed:
            os.write(self._wake_w, b"x")
            self._thread.join()
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._a.close()
            self._b.close()

    def __enter__(self) -> PtyBridge:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
