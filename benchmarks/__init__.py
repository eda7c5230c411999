"""Measured benchmarks: exploration cost of the sampling methods, overhead of the local mode."""
