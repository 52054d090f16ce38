"""`python -m benchmarks.libraries`: see benchmarks/libraries/cli.py."""

from __future__ import annotations

from benchmarks.libraries.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
