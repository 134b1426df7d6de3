"""Helpers for tests and benchmarks (generated households); never imported by the product."""
