"""Benchmarks at fleet scale (`python -m bench`) and the long fuzz campaign (bench/fuzz.py)."""
