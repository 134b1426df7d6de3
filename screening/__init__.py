"""Batch screening's adapters: reading registers (CSV, JSON Lines, Parquet), writing outcomes
and errors, the streaming runner, the Spark job and the progress console.

The engine (``engine.batch``) validates and evaluates frames and does no I/O; everything that
touches files, processes or the terminal is here (an import contract says so).
"""
