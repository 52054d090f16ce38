"""Benchmarks of the flow room: packet readers, live capture, the flow meter."""
