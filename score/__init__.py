"""Bulk scoring: flow files (CSV, gzip'd CSV, Parquet) in, one verdict per flow out."""
