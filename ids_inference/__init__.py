"""ids-inference: CICIDS2017 intrusion detection models, converted to ONNX and served fast."""

from __future__ import annotations

__version__ = "0.1.0"
