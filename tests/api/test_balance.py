"""Kept-alive connections spread evenly over the workers of one server
(``graphql_api.balance``): a worker holding more than its share answers with
``Connection: close`` until it holds its share, and two workers given 20 connections end
with 10 each, whichever way the kernel first handed them out."""

from __future__ import annotations

import http.client
import os
import struct
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from graphql_api.balance import Board, create
from tests.api.servers import serve, wait_for_workers, workers_of


def _connections(base: str, n: int) -> list[http.client.HTTPConnection]:
    address = urlsplit(base)
    conns = [http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
             for _ in range(n)]
    for c in conns:
        c.connect()
    return conns


def _until_held(path: Path, connections: int, seconds: float = 30.0) -> None:
    """Until the server's worker (the board's other slot than this process's) has published
    that it holds ``connections``."""
    deadline = time.monotonic() + seconds
    while True:
        data = path.read_bytes()
        slots = [struct.unpack_from("<qq", data, at) for at in range(0, len(data), 16)]
        if any(pid not in (0, os.getpid()) and held == connections for pid, held in slots):
            return
        assert time.monotonic() < deadline, f"the worker never held {connections}: {slots}"
        time.sleep(0.01)


def _get(c: http.client.HTTPConnection, request_id: str) -> str:
    """GET /healthz over ``c`` (opened again if the server closed it after its last answer);
    the answer's Connection header."""
    if c.sock is None:
        c.connect()
    c.request("GET", "/healthz", headers={"x-request-id": request_id})
    response = c.getresponse()
    response.read()
    assert response.status == 200
    connection = (response.getheader("connection") or "").lower()
    if connection == "close":
        c.close()
    return connection


def test_the_board_counts_live_workers_only(tmp_path: Path) -> None:
    path = tmp_path / "board"
    create(path, 3)
    alive = {11: True, 12: True, 13: True}
    a, b, c = (Board(path, pid=pid, alive=lambda pid: alive.get(pid, True))
               for pid in (11, 12, 13))
    assert (a.slot, b.slot, c.slot) == (0, 1, 2)
    a.publish(7)
    b.publish(5)
    c.publish(6)
    assert a.over_share(7) and not b.over_share(5) and not c.over_share(6)
    assert not a.over_share(6)  # one more than the fewest is a fair share
    # A worker that died is no measure; the worker started in its place takes its slot
    # (its count 0 until it publishes its own).
    alive[12] = False
    d = Board(path, pid=14, alive=lambda pid: alive.get(pid, True))
    assert d.slot == 1
    d.publish(6)
    assert not Board(path, pid=15, alive=lambda pid: True).slot  # no slot left: no part
    assert not a.over_share(7)  # the live others hold 6 each
    assert a.over_share(8)


def test_a_worker_over_its_share_gives_connections_back(tmp_path: Path) -> None:
    # One worker, told of another live one (this test's process) that holds no connection:
    # holding three, it closes connections after their answers until it holds one.
    path = tmp_path / "board"
    create(path, 2)
    Board(path).publish(0)
    with serve(tmp_path, env={"POLICY_ENGINE_WORKER_BALANCE_FILE": str(path)}) as base:
        conns = _connections(base, 3)
        _until_held(path, 3)  # all three accepted (as the worker published)
        said = [_get(c, f"share{i}") for i, c in enumerate(conns)]
        assert said == ["close", "close", "keep-alive"] or said == ["close", "close", ""]
        # The connection kept stays kept: one is this worker's share.
        assert _get(conns[2], "shareagain") in ("keep-alive", "")
        for c in conns:
            c.close()


def test_two_workers_end_with_ten_connections_each(tmp_path: Path) -> None:
    # 20 clients, each on its own kept-alive connection, asking one after another as fast as
    # they are answered (what the uneven split slows down: a worker holding 12 answers each
    # of its clients later than one holding 8), for a few seconds; then each asks once more
    # and the log says which worker answered it.
    with serve(tmp_path, "--workers", "2") as base:
        wait_for_workers(base, tmp_path, 2)
        conns = _connections(base, 20)
        stop = time.monotonic() + 4.0

        def load(i: int) -> int:
            n = 0
            while time.monotonic() < stop:
                _get(conns[i], f"load{i}x{n}")
                n += 1
            return n

        with ThreadPoolExecutor(max_workers=len(conns)) as pool:
            assert all(n > 0 for n in pool.map(load, range(len(conns))))
        last = [f"last{i}" for i in range(len(conns))]
        for c, request_id in zip(conns, last, strict=True):
            _get(c, request_id)
        held = workers_of(tmp_path, last)
        assert len(held) == 20
        assert sorted(Counter(held.values()).values()) == [10, 10]
        assert os.getpid() not in held.values()
        for c in conns:
            c.close()


def test_a_workers_file_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    board = tmp_path / "no-such-folder" / "board"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "POLICY_ENGINE_ENV": "prod", "POLICY_ENGINE_WORKER_BALANCE_FILE": str(board),
           "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "cli.main", "serve", "--workers", "2",
                           "--port", "0"], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "无法读写文件" in done.stderr and str(board) in done.stderr
    assert "[IO_ERROR]" in done.stderr and "Traceback" not in done.stderr
