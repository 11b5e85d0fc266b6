"""Allow ``python -m cowlint``."""

from cowlint.cli import main

# The guard matters: cowlint's worker processes start from a forkserver (spawn
# elsewhere), which imports the main module again.
if __name__ == "__main__":
    raise SystemExit(main())
