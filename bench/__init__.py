"""Benchmarks of the mock: request throughput against a bare Starlette baseline, and memory per task."""
