"""Where a screening run's CPU goes, stage by stage: one chunk after another on one thread.

    python bench/batch_stages.py REGISTER [--every-outcome] [--chunk-size 400000]

Reads the register (any input the screen command reads) in the screen command's chunks and
runs each chunk through the stages one after another, in this process: reading
(``Source.chunks``), checking (``screening.runner.check_chunk``), evaluating (every outcome:
the wide table, ``evaluate_wide``; otherwise GRANTED and UNDETERMINED rows by outcome) and
writing (``OutcomeWriter.write``, CSV for every outcome, Parquet otherwise, under
bench/out/). Prints the CPU seconds of the process (all threads, user + system) spent in each
stage, the start (catalogue, compiling) and the load average. Without the overlap of the
screen command's threads, the stages' sum is what the run costs, minus its idle waits.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AS_OF = date(2024, 6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("register")
    parser.add_argument("--every-outcome", action="store_true",
                        help="every outcome in the wide layout to CSV (the screen command's "
                        "--status all --out x.csv); default GRANTED+UNDETERMINED to Parquet")
    parser.add_argument("--chunk-size", type=int, default=400_000)
    args = parser.parse_args()
    started = time.process_time()
    from engine.batch import evaluator_for
    from engine.batch.wide import evaluate_wide, wide_layout
    from screening.runner import check_chunk
    from screening.sources import open_source
    from screening.writers import OutcomeWriter
    from services.rulesets import load_catalog

    wide = args.every_outcome
    evaluator = evaluator_for(load_catalog().in_force(AS_OF), AS_OF)
    layout = wide_layout(evaluator) if wide else None
    out = ROOT / "bench" / "out" / ("batch-stages.csv" if wide else "batch-stages.parquet")
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = OutcomeWriter(out, "csv" if wide else "parquet",
                           headers=layout.zh_headers() if layout else None)
    cpu = {"start": time.process_time() - started, "read": 0.0, "check": 0.0, "evaluate": 0.0,
           "write": 0.0}
    households = 0
    chunks = open_source(args.register, None, args.chunk_size).chunks()
    while True:
        t = time.process_time()
        chunk = next(chunks, None)
        cpu["read"] += time.process_time() - t
        if chunk is None:
            break
        t = time.process_time()
        checked = check_chunk(chunk, AS_OF)
        del chunk
        cpu["check"] += time.process_time() - t
        t = time.process_time()
        if layout is not None:
            result = evaluate_wide(evaluator, layout, checked.households, checked.members)
        else:
            result = evaluator.evaluate(checked.households, checked.members,
                                        frozenset({"GRANTED", "UNDETERMINED"}), False,
                                        order="outcome")
        cpu["evaluate"] += time.process_time() - t
        t = time.process_time()
        writer.write(result.outcomes)
        cpu["write"] += time.process_time() - t
        households += checked.households.height + checked.rejected
    writer.close(layout.schema if layout else None)
    out.unlink()
    print(f"{households:,} households from {args.register}, "
          f"{'every outcome (wide CSV)' if wide else 'GRANTED+UNDETERMINED (Parquet)'}, "
          f"load {os.getloadavg()[0]:.1f}; CPU s per stage:")
    for stage, seconds in cpu.items():
        print(f"  {stage:<9} {seconds:6.2f}")
    print(f"  {'all':<9} {time.process_time():6.2f} (the process, imports included)")


if __name__ == "__main__":
    main()
