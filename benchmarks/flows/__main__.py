from __future__ import annotations

from benchmarks.flows.cli import main

raise SystemExit(main())
