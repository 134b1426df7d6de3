"""GraphQL over HTTP under load: one uvicorn worker, 20 concurrent connections, side by side.

    python bench/graphql_load.py [--seconds 15] [--connections 20]

Starts `policy-engine serve` (one worker, SQLite, seeded from fixtures/) on a free loopback
port and drives it with wrk (Debian package `wrk`, a C load generator) for three requests:

- ``{ __typename }``: the floor (HTTP, JSON, strawberry, no resolver work);
- query A, a caseworker's list: ``evaluate`` of a 5-member household selecting every outcome's
  code, title, status, memberId, amount, period;
- query B, the full explanation: every field, reasons, conditions and citations.

Queries A and B cycle through a pool of distinct households (a Lua script picks one per
request), so the engine's memo sees a realistic mix, not one household repeated.
Prints requests/s and latency percentiles and the ratios the issue asks for.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.households import random_household  # noqa: E402
from testing.queries import QUERY_A, QUERY_B  # noqa: E402
from testing.serving import served  # noqa: E402

# wrk's request script: the bodies file's lines posted in turn, with a bearer token when one is
# given, each of wrk's threads (a Lua state of its own) taking its own lines: thread k of n posts
# lines k, k + n, k + 2n, ... (with one counter per thread, every thread would post every line,
# and the second post of a household would often be answered from the determination cache).
# The result line splits non-2xx answers from socket errors (timeouts included).
LUA = """
local bodies = {}
local f = io.open("%(bodies)s", "r")
for line in f:lines() do bodies[#bodies + 1] = line end
f:close()
local threads = 0
function setup(thread)
  thread:set("first", threads)
  thread:set("step", %(threads)d)
  threads = threads + 1
end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(auth)s
request = function()
  local n = first + i * step
  i = i + 1
  return wrk.format(nil, "/graphql", nil, bodies[(n %% #bodies) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%.3f %%d %%d\\n", summary.requests,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, summary.errors.status, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""
WRK_THREADS = 2


def lua_script(path: Path, bodies: Path, token: str | None = None) -> Path:
    """wrk's script at ``path`` posting the lines of ``bodies`` (with ``token`` as bearer)."""
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    path.write_text(LUA % {"bodies": bodies, "threads": WRK_THREADS, "auth": auth})
    return path


def bodies_file(folder: Path, name: str, query: str | None, households: int) -> Path:
    path = folder / f"{name}.txt"
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as f:
        if query is None:
            f.write(json.dumps({"query": "{ __typename }"}) + "\n")
        else:
            for i in range(households):
                hh = random_household(rng, date(2024, 6, 1), hid=f"load-{i}", members=5)
                f.write(json.dumps({"query": query, "variables": {"h": hh}},
                                   ensure_ascii=False) + "\n")
    return path


def wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    """One wrk run: requests, requests/s, p50 and p99 (ms), non-2xx answers, socket errors and
    wrk's own CPU ms per request (it shares the cores with the server)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        ["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "--timeout", "30s", "-s", str(script), url], capture_output=True, text=True,
        check=True)
    m = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)", done.stdout)
    assert m, done.stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    requests, micros = int(m.group(1)), int(m.group(2))
    return {"requests": requests, "rps": requests / (micros / 1e6), "p50": float(m.group(3)),
            "p99": float(m.group(4)), "status_errors": int(m.group(6)),
            "socket_errors": int(m.group(7)),
            "wrk_ms": (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            * 1000 / max(requests, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--households", type=int, default=500)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="pe-load-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'load.sqlite3'}",
           "POLICY_ENGINE_ENV": "dev", "POLICY_ENGINE_LOG_LEVEL": "WARNING"}
    results = {}
    with served(env, ready_seconds=20) as (url, _):
        for name, query in (("{ __typename }", None), ("query A", QUERY_A),
                            ("query B", QUERY_B)):
            bodies = bodies_file(folder, name.replace(" ", "_").strip("{}_"), query,
                                 args.households)
            script = lua_script(folder / f"{bodies.stem}.lua", bodies)
            wrk(url, script, 3, args.connections)  # warm-up
            results[name] = wrk(url, script, args.seconds, args.connections)
    print(f"GraphQL over HTTP, 1 uvicorn worker, {args.connections} connections, "
          f"{args.seconds} s each, wrk on loopback, {date.today().isoformat()}")
    print(f"{'':>16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in results.items():
        print(f"{name:>16} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
              f"{r['status_errors'] + r['socket_errors']:>7.0f}")
    base = results["{ __typename }"]["rps"]
    print(f"query A throughput / __typename: {results['query A']['rps'] / base:.2f} "
          f"(target >= 0.5)")
    print(f"query B p99: {results['query B']['p99']:.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
