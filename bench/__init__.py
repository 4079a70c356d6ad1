"""Benchmarks at fleet scale: `python -m bench` (the commands) and `python -m bench.engine` (the program under the real engine)."""
