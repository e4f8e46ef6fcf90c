"""What the benchmark scripts share. A package, so CI's `benchmarks/*.py` loop skips it."""
