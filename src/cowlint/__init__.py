"""cowlint: find multiprocessing code that loses fork's copy-on-write sharing.

The public API is deliberately small (as pyflakes keeps it):

- :func:`check_source` checks one module given as text or bytes.
- :func:`check_paths` checks files and folders, the way the CLI does.

Static checking never imports or executes the code it reads.
"""

from __future__ import annotations

import os as _os
import sys as _sys

from cowlint._version import __version__

# ``python -m cowlint`` puts the current folder first on sys.path while Python
# locates the package (sys.argv[0] is "-m" only then): a ``libcst.py`` or
# ``ast.py`` in the checked tree would be imported, and run, in its place.
if _sys.argv[:1] == ["-m"] and _sys.path and _sys.path[0] in ("", _os.getcwd()) and not getattr(_sys.flags, "safe_path", False):
    del _sys.path[0]

from cowlint.config import Config
from cowlint.engine.files.run import CheckResult, check_paths
from cowlint.engine.finding import Finding
from cowlint.engine.module.check import check_source

__all__ = ["CheckResult", "Config", "Finding", "check_paths", "check_source", "__version__"]
