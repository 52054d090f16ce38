"""`python -m benchmarks.flows`: the flow meter against the reference (CICFlowMeter's `cfm`).

`files` times both on the same capture, one core each, interleaved and repeated, and measures
their peak memory; `live` (the readers') measures live capture on `lo`.
"""
