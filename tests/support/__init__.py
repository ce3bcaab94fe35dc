"""Helpers shared by tests and benchmarks that run real ``odart`` processes (test support)."""
