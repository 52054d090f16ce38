"""The detection benchmark: what the models catch on recorded attacks.

`python -m benchmarks.detection`; see benchmarks/detection/run.py.
"""
