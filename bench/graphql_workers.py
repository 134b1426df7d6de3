"""One worker against two: full explained evaluations of households the server has never
seen, 20 connections.

    python bench/graphql_workers.py [--seconds 15] [--connections 20] [--rounds 1]
                                    [--warm 3] [--baseline DIR]

Starts `policy-engine serve --workers 1`, then `--workers 2` (prod, SQLite seeded from
fixtures/, an api_client token), each on a free loopback port, and drives each with wrk
(Debian package `wrk`) posting query B of bench/graphql_load.py (every field, reasons,
conditions and citations) for a 5-member household. Every request of a run carries a
household no earlier request of any run carried (a pool of distinct households per run,
larger than the requests wrk can send), so no answer comes from the determination cache.
Prints requests/s, p50 and p99 per run and the ratio; the targets are a ratio of at least 1.6
and p99 under 50 ms with two workers. Also per run: the CPU time the server's processes spent
per answer and, of it, the workers' event loops' (``loop``: HTTP, the body's JSON,
strawberry's view, encoding and writing the answer; the rest is the operations' threads and
the collector), the busiest process's share of it (0.50 when two workers did equal work),
wrk's own CPU time per request (it runs on the same two cores), the largest peak resident
size of the server's processes (a worker's memos, full after the warm-up), and how wrk's
keep-alive connections were spread over the workers: each second of the run the established
connections each worker process holds (`ss -tnp`), the most frequent split ("11/9": one
worker held 11 of the 20) and the largest number one worker held at any sample. A worker
holding more connections than another answers them later, whatever its speed: its requests
make the p99. Below each run of this checkout (when its /metrics has them), per worker: the
operations it ran and where their time went on average (graphql_api.observability's
``policy_engine_graphql_operation_seconds``): queued (handed to the pool of threads until a
thread started it), running (in the thread), resumed (until the event loop took the result
up), and the mean latency of its /graphql requests as the server saw them.

With ``--baseline DIR`` (another checkout of this repository, e.g. ``git worktree add
--detach /tmp/before HEAD~3``), every round runs the baseline's server and then this one's,
one worker then two each, so a change is measured side by side under the same load. The
baseline's code serves from its own folder (``python -m cli.main`` there) with this checkout's
installed dependencies.

wrk runs on the same machine, and so does whatever else the machine is doing: report the
ratio of runs made side by side, and say what else was running.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.graphql_load import QUERY_B, lua_script, wrk  # noqa: E402
from testing.households import random_household  # noqa: E402
from testing.serving import served  # noqa: E402


def bodies(path: Path, seed: int, count: int) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(count):
            hh = random_household(rng, date(2024, 6, 1), hid=f"w{seed}-{i}", members=5)
            f.write(json.dumps({"query": QUERY_B, "variables": {"h": hh}},
                               ensure_ascii=False) + "\n")
    return path


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (the workers; Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time (user + system) each of the server's processes has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for p in _descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[p] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def loop_cpu_seconds(pid: int, workers: int) -> float:
    """CPU time the workers' main threads, each worker's event loop (HTTP, the body's JSON,
    strawberry's view, encoding and writing the answers), have used so far: with one worker
    uvicorn serves in ``pid`` itself, with several in its child processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    served_by = [pid]
    if workers > 1:
        served_by = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            served_by += [int(c) for c in (task / "children").read_text().split()]
    used = 0.0
    for p in served_by:
        try:
            fields = Path(f"/proc/{p}/task/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used += (int(fields[11]) + int(fields[12])) / ticks
    return used


def peak_rss_mib(pid: int) -> float:
    """The largest peak resident size (VmHWM) among the server's processes, MiB."""
    peak = 0.0
    for p in _descendants(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return peak


def connections_by_worker(port: int) -> list[int]:
    """The established connections to ``port`` each process holds, largest first (`ss`)."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=False).stdout
    return sorted(Counter(re.findall(r"pid=(\d+)", out)).values(), reverse=True)


class SpreadSampler:
    """Samples ``connections_by_worker`` once a second while a run lasts."""

    def __init__(self, port: int):
        self.port = port
        self.samples: list[tuple[int, ...]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            found = tuple(connections_by_worker(self.port))
            if found:
                self.samples.append(found)

    def __enter__(self) -> SpreadSampler:
        if shutil.which("ss") is not None:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def split(self) -> str:
        """The most frequent split over the samples, e.g. "11/9" ("-" without samples)."""
        if not self.samples:
            return "-"
        return "/".join(map(str, Counter(self.samples).most_common(1)[0][0]))

    def most(self) -> int:
        """The most connections one worker held at any sample (0 without samples)."""
        return max((s[0] for s in self.samples), default=0)


STAGES = ("queued", "running", "resumed")


def worker_metrics(url: str, workers: int, tries: int = 60) -> dict[str, dict[str, float]]:
    """Each worker's operation stage sums and counts from its /metrics (a new connection per
    fetch, so each lands on one worker or another), by the worker's pid; empty when the
    server does not publish them, or one worker was not reached."""
    seen: dict[str, dict[str, float]] = {}
    for _ in range(tries):
        text = httpx.get(f"{url}/metrics", timeout=30).text
        figures: dict[str, float] = {}
        pid = ""
        for line in text.splitlines():
            m = re.match(r'policy_engine_worker_info\{pid="(\d+)"\}', line)
            if m:
                pid = m.group(1)
            m = re.match(r'policy_engine_graphql_operation_seconds_(sum|count)\{stage="(\w+)"\}'
                         r" (\S+)", line)
            if m:
                figures[f"{m.group(2)}_{m.group(1)}"] = float(m.group(3))
            m = re.match(r"policy_engine_request_seconds_(sum|count)\{([^}]*)\} (\S+)", line)
            if m and 'path="/graphql"' in m.group(2) and 'status="200"' in m.group(2):
                figures[f"request_{m.group(1)}"] = float(m.group(3))
        if not figures or not pid:
            return {}
        seen[pid] = figures
        if len(seen) == workers:
            return seen
    return {}


def stage_lines(before: dict[str, dict[str, float]],
                after: dict[str, dict[str, float]]) -> list[str]:
    """Per worker, what its operations did between two ``worker_metrics`` readings."""
    lines = []
    for i, pid in enumerate(sorted(after), 1):
        a, b = after[pid], before.get(pid, {})
        ops = a.get("running_count", 0) - b.get("running_count", 0)
        if ops <= 0:
            continue
        means = [(a.get(f"{s}_sum", 0) - b.get(f"{s}_sum", 0)) * 1000 / ops for s in STAGES]
        requests = a.get("request_count", 0) - b.get("request_count", 0)
        latency = ((a.get("request_sum", 0) - b.get("request_sum", 0)) * 1000 / requests
                   if requests else 0.0)
        lines.append(f"      worker {i}: {ops:,.0f} operations, mean ms queued {means[0]:.1f}, "
                     f"running {means[1]:.1f}, resumed {means[2]:.1f}; "
                     f"request {latency:.1f} as served")
    return lines


def token(database_url: str, code: Path = ROOT) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "POLICY_ENGINE_ENV": "prod"}
    done = subprocess.run([sys.executable, "-m", "cli.main", "token", "create", "--role",
                           "api_client", "--name", "bench"], cwd=code, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def run(workers: int, folder: Path, args: argparse.Namespace, seed: int,
        code: Path = ROOT) -> dict[str, Any]:
    database = f"sqlite:///{folder / f'w{workers}-{seed}-{code.name}.sqlite3'}"
    bearer = token(database, code)
    env = {**os.environ, "DATABASE_URL": database, "POLICY_ENGINE_ENV": "prod",
           "POLICY_ENGINE_LOG_LEVEL": "WARNING"}
    with served(env, ["--workers", str(workers)], code=code, ready_seconds=30) as (url, server):
        warm = bodies(folder / f"warm-{workers}-{seed}.txt", seed + 1000,
                      2000 + 600 * args.warm)
        probe = httpx.post(f"{url}/graphql", content=warm.read_text().splitlines()[0],
                           headers={"content-type": "application/json",
                                    "authorization": f"Bearer {bearer}"}, timeout=60).json()
        assert "errors" not in probe and probe["data"]["evaluate"]["outcomes"], probe
        script = lua_script(folder / f"warm-{workers}-{seed}.lua", warm, bearer)
        wrk(url, script, args.warm, args.connections)
        pool = bodies(folder / f"run-{workers}-{seed}.txt", seed, args.households)
        script = lua_script(folder / f"run-{workers}-{seed}.lua", pool, bearer)
        stages = worker_metrics(url, workers)
        before = cpu_seconds(server.pid)
        loop_before = loop_cpu_seconds(server.pid, workers)
        with SpreadSampler(int(url.rsplit(":", 1)[1])) as spread:
            result = wrk(url, script, args.seconds, args.connections)
        # CPU the server spent per answer: unlike requests/s, hardly moved by what else the
        # machine runs (it is what a request costs, not how much of the machine it got)
        after = cpu_seconds(server.pid)
        spent = {p: after[p] - before.get(p, 0.0) for p in after}
        result["cpu_ms"] = sum(spent.values()) * 1000 / max(result["requests"], 1)
        # of which the event loops' (the rest: the operations' threads, the collector)
        result["loop_ms"] = ((loop_cpu_seconds(server.pid, workers) - loop_before) * 1000
                             / max(result["requests"], 1))
        # how the work split between the processes: the busiest one's share (one worker and
        # no supervisor: 1.0; two workers evenly loaded: 0.5)
        result["busiest"] = max(spent.values()) / max(sum(spent.values()), 1e-9)
        result["rss"] = peak_rss_mib(server.pid)
        result["split"], result["most"] = spread.split(), spread.most()
        result["stages"] = stage_lines(stages, worker_metrics(url, workers)) if stages else []
        if result["requests"] > args.households:
            print(f"warning: {result['requests']} requests but {args.households} households: "
                  "some were seen twice; raise --households", file=sys.stderr)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--warm", type=int, default=3,
                        help="seconds of warm-up load (other households) before each run; "
                             "the server's memos fill in the first few thousand requests")
    parser.add_argument("--baseline", type=Path, help="another checkout to run side by side")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    codes = {"this": ROOT}
    if args.baseline is not None:
        codes = {"baseline": args.baseline.resolve(), "this": ROOT}
    folder = Path(tempfile.mkdtemp(prefix="pe-workers-"))
    print(f"full explained evaluate of never-seen 5-member households, {args.connections} "
          f"connections, {args.seconds} s per run, wrk on loopback, {date.today().isoformat()},"
          f" {os.cpu_count()} cores")
    for name, code in codes.items():
        commit = subprocess.run(["git", "-C", str(code), "log", "-1", "--format=%h %s"],
                                capture_output=True, text=True, check=False).stdout.strip()
        print(f"{name}: {code} at {commit[:70]}")
    print(f"{'round':>5} {'code':>8} {'workers':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'non-2xx':>7} {'socket':>6} {'cpu ms/req':>10} {'loop':>5} {'busiest':>7} "
          f"{'wrk ms/req':>10} {'rss MiB':>7} {'conns':>6} {'most':>4}   load")
    for r in range(args.rounds):
        for name, code in codes.items():
            results = {}
            for workers in (1, 2):
                results[workers] = run(workers, folder, args, seed=10 * r + workers, code=code)
                x = results[workers]
                print(f"{r + 1:>5} {name:>8} {workers:>7} {x['rps']:>8.0f} {x['p50']:>8.2f} "
                      f"{x['p99']:>8.2f} {x['status_errors']:>7.0f} {x['socket_errors']:>6.0f} "
                      f"{x['cpu_ms']:>10.2f} {x['loop_ms']:>5.2f} {x['busiest']:>7.2f} "
                      f"{x['wrk_ms']:>10.2f} "
                      f"{x['rss']:>7.0f} {x['split']:>6} {x['most']:>4}   "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
                for line in x["stages"]:
                    print(line, flush=True)
            ratio = results[2]["rps"] / results[1]["rps"]
            print(f"round {r + 1} {name}: 2 workers / 1 worker = {ratio:.2f} (target >= 1.6); "
                  f"p99 with 2 workers {results[2]['p99']:.1f} ms (target < 50 ms)", flush=True)
            # On 2 free cores one worker can use one, two can use both: the capacity ratio the
            # CPU cost per answer implies (an estimate, not a measurement of throughput)
            implied = 2 * results[1]["cpu_ms"] / results[2]["cpu_ms"]
            print(f"round {r + 1} {name}: CPU per answer {results[1]['cpu_ms']:.2f} ms "
                  f"(1 worker), {results[2]['cpu_ms']:.2f} ms (2 workers): on two free cores "
                  f"about {implied:.2f}x, {2000 / results[2]['cpu_ms']:.0f} answers/s at most",
                  flush=True)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
