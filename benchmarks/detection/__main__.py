"""`python -m benchmarks.detection`: see benchmarks/detection/run.py."""

from __future__ import annotations

from benchmarks.detection.run import main

raise SystemExit(main())
