"""Keep-alive connections spread evenly over the workers of one server.

The workers of ``serve --workers N`` accept from one listening socket, and a client that
keeps its connections alive (a reverse proxy's pool, another system's client, a load test)
stays with whichever worker accepted each of them: the kernel may give one worker 12 of 20
connections and the other 8, and the first then answers each of its clients half as late
again as the second, for the whole life of the connections (docs/performance.md, issue 13).

Each worker publishes how many connections it holds in a file all the workers map (``Board``;
a slot a worker: its process id and its count). A worker holding at least two more than the
least loaded of the others answers its next request with ``Connection: close`` (HTTP/1.1's
way for a server to end a kept-alive connection after an answer); the client opens a new
connection, which either worker may accept. A connection being closed so no longer counts, so
a worker gives up one connection for each it holds too many, and the split settles at an even
one (10/10, or 11/10 for 21) within a few requests. Nothing is lost: the answer is sent whole,
and only the next request goes over a new connection.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import time
from collections.abc import Callable
from functools import cache

from services.config import Settings

_SLOT = struct.Struct("<qq")  # a worker's process id (0: a free slot), its connections

# A worker holding this many more connections than the least loaded other gives one up.
EXCESS = 2


def create(path: str | os.PathLike[str], workers: int) -> None:
    """The board of a server of ``workers`` workers, every slot free (before they start)."""
    with open(path, "wb") as f:
        f.write(bytes(workers * _SLOT.size))


class Board:
    """The workers' connection counts in a file they all map (``create``). A worker claims
    a free slot, or that of a worker that has died (a worker the server started again
    takes its place), and is the only one to write it.

    >>> import tempfile
    >>> path = tempfile.mkdtemp() + "/board"
    >>> create(path, 2)
    >>> up = lambda pid: True
    >>> a, b = Board(path, pid=11, alive=up), Board(path, pid=12, alive=up)
    >>> a.publish(12); b.publish(8)
    >>> a.over_share(12), b.over_share(8), a.over_share(9)
    (True, False, False)
    """

    def __init__(self, path: str | os.PathLike[str], *, pid: int | None = None,
                 alive: Callable[[int], bool] | None = None):
        self.pid = os.getpid() if pid is None else pid
        self._alive = alive or _alive
        self._fd = os.open(path, os.O_RDWR)
        size = os.fstat(self._fd).st_size
        self.slots = size // _SLOT.size
        self._map = mmap.mmap(self._fd, size) if self.slots else None
        self._checked: dict[int, tuple[float, bool]] = {}
        self.slot = self._claim()

    def _claim(self) -> int | None:
        if self._map is None:
            return None
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            for i in range(self.slots):
                pid, _ = _SLOT.unpack_from(self._map, i * _SLOT.size)
                if pid == 0 or pid == self.pid or not self._alive(pid):
                    _SLOT.pack_into(self._map, i * _SLOT.size, self.pid, 0)
                    return i
            return None  # more workers than slots: this one takes no part
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def publish(self, connections: int) -> None:
        """This worker now holds ``connections`` (a write of its own slot: no lock)."""
        if self.slot is not None and self._map is not None:
            _SLOT.pack_into(self._map, self.slot * _SLOT.size, self.pid, connections)

    def over_share(self, connections: int) -> bool:
        """Whether this worker, holding ``connections``, should give one up: it holds
        ``EXCESS`` more than another live worker."""
        if self.slot is None or self._map is None:
            return False
        fewest = None
        for i in range(self.slots):
            if i == self.slot:
                continue
            pid, count = _SLOT.unpack_from(self._map, i * _SLOT.size)
            if pid and (fewest is None or count < fewest) and self._live(pid):
                fewest = count
        return fewest is not None and connections >= fewest + EXCESS

    def _live(self, pid: int) -> bool:
        """Whether that worker runs, asked of the system at most once a second."""
        now = time.monotonic()
        checked = self._checked.get(pid)
        if checked is None or now - checked[0] > 1.0:
            checked = (now, self._alive(pid))
            self._checked[pid] = checked
        return checked[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a process of another user: it exists
        return True
    return True


@cache
def board() -> Board | None:
    """This worker's board, when its server has several workers (``worker_balance_file``)."""
    path = Settings().worker_balance_file
    if not path:
        return None
    try:
        return Board(path)
    except OSError:
        return None  # no board (removed as the server stops): connections stay as accepted
