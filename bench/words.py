"""What explanations in words cost: every node of every reason's tree said in both languages.

    python bench/words.py [--households 500] [--rounds 3]

Generated five-member households (``testing.households``) are evaluated as of 2024-06-01 under
every program in force; then each node of each reason's tree (``engine.tree.walk``) is said in
Chinese and in English with its actual value (``engine.words.node_text``, ``actual_text``), as
a client that asks for ``text`` and ``actualText`` at every depth would have it. The first
round starts with the words' memos empty; the later ones find what the first left. Printed:
nodes a household, and CPU time per node and language and per household (both languages).

To compare with another checkout, run its own copy of this script at the same time on the
other core (``taskset -c 0`` / ``taskset -c 1``), then swapped: machines here are noisy.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This checkout's code, not whichever the environment installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import random
import time
from datetime import date

from engine.determine import determine
from engine.tree import walk
from engine.words import actual_text, node_text
from services.rulesets import load_catalog
from testing.households import random_household


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    as_of = date(2024, 6, 1)
    versions = load_catalog().in_force(as_of)
    rng = random.Random(5)
    trees = []
    for i in range(args.households):
        det = determine(random_household(rng, as_of, hid=f"w-{i}", members=5), as_of, versions)
        trees.append([n for o in det.outcomes() for r in o.reasons for n in walk(r.condition)])
    total = sum(len(t) for t in trees)
    print(f"{len(versions)} programs, {args.households} households, "
          f"{total / len(trees):.0f} nodes a household")
    for round_ in range(1, args.rounds + 1):
        start = time.process_time()
        for nodes in trees:
            for n in nodes:
                node_text(n)
                actual_text(n)
                node_text(n, "EN")
                actual_text(n, "EN")
        spent = time.process_time() - start
        print(f"round {round_}: {spent / total / 2 * 1e6:.2f} µs a node and language, "
              f"{spent / len(trees) * 1e3:.2f} ms a household (both languages)")


if __name__ == "__main__":
    main()
