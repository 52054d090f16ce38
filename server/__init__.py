"""Serving room: onnxruntime sessions behind Starlette; never loads a pickle."""
