"""The reliability suite's tools: a server process, counting traffic, the figures and the report."""
