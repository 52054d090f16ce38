from __future__ import annotations

from benchmarks.reliability.cli import main

raise SystemExit(main())
