"""cowlint: find multiprocessing code that loses fork's copy-on-write sharing.

The public API is deliberately small (as pyflakes keeps it):

- :func:`check_source` checks one module given as text or bytes.
- :func:`check_paths` checks files and folders, the way the CLI does.

Static checking never imports or executes the code it reads.
"""

from __future__ import annotations

__version__ = "0.1.0"

from cowlint.config import Config
from cowlint.engine.checker import CheckResult, check_paths, check_source
from cowlint.engine.finding import Finding

__all__ = ["CheckResult", "Config", "Finding", "check_paths", "check_source", "__version__"]
