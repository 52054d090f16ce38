"""Benchmarks: the pickle baseline against the ONNX server, side by side."""
