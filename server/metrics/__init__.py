"""Prometheus metrics, shared by every worker process through memory-mapped files."""
