"""Benchmarks of the flow room: packet readers, live capture, the flow meter.

`python -m benchmarks.flows` times the meter against the reference (CICFlowMeter's `cfm`) on the
same capture, one core each, interleaved and repeated, with their peak memory (`files`), then
live capture on `lo` (`live`). `python -m benchmarks.flows.delivery` measures how late a live
packet can reach the reader, which `flows.live.DELIVERY_MARGIN_US` must cover.
"""
