"""Benchmark cases: one module per topic, each runtime's version side by side."""
