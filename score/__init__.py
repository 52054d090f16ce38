"""Bulk scoring: flow files (CSV, gzip'd CSV, Parquet) in, one verdict per flow out."""

import os

# numpy's OpenBLAS starts a thread per core when it is imported, and each spins about 0.1 s of
# CPU before it sleeps. Nothing here multiplies matrices (the jobs are the parallelism), so a
# run that has not chosen otherwise starts none: 0.38-0.42 -> 0.29-0.33 CPU s a run (1-row file,
# 4 runs each). It takes effect only where numpy is not imported yet.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
