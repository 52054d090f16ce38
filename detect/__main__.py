"""`python -m detect`: the same as `ids-inference detect`."""

from __future__ import annotations

from detect.cli import main

raise SystemExit(main())
