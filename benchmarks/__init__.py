"""Benchmarks with their own runner (`benchmarks/run.py`); not part of the test run."""
