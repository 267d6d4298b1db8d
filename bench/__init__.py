"""Benchmarks run against a throwaway PostgreSQL: ``make bench`` (1M tasks) and ``make bench-quick``."""
