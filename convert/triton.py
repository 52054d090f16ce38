"""`config.pbtxt`: the same folder is a Triton Inference Server model repository."""

from __future__ import annotations

# Matches the service's batch limit; Triton's dynamic batcher may merge requests up to it.
MAX_BATCH_SIZE = 1000


def triton_config(name: str, n_features: int, n_classes: int) -> str:
    """Triton's model configuration (protobuf text format) for one converted model.

    With batching on, Triton leaves the batch dimension out of `dims`; `label` is `[N]` in the
    graph, so Triton sees it as `[N, 1]` and reshapes to the graph's `[N]`.
    """
    return f"""\
name: "{name}"
platform: "onnxruntime_onnx"
max_batch_size: {MAX_BATCH_SIZE}
input [
  {{
    name: "features"
    data_type: TYPE_FP64
    dims: [ {n_features} ]
  }}
]
output [
  {{
    name: "label"
    data_type: TYPE_STRING
    dims: [ 1 ]
    reshape: {{ shape: [ ] }}
  }},
  {{
    name: "probabilities"
    data_type: TYPE_FP32
    dims: [ {n_classes} ]
  }}
]
dynamic_batching {{ }}
instance_group [
  {{
    count: 1
    kind: KIND_CPU
  }}
]
"""
