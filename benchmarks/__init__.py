"""Benchmarks: run by `make bench-smtp`, never by the test suite (timings are not assertions)."""
