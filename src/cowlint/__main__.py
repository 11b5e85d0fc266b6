"""Allow ``python -m cowlint``."""

from cowlint.cli import main

raise SystemExit(main())
