from __future__ import annotations

from ids_inference.cli import main

raise SystemExit(main())
