"""Conversion room: pickle set -> one self-contained, parity-gated ONNX graph per model."""
