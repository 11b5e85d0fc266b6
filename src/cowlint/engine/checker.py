"""The old home of the engine's entry points, kept for scripts that import them from here
(the attack and fuzz harnesses do). New code imports from where they live now:
:mod:`cowlint.engine.module.check` (one module) and :mod:`cowlint.engine.files.run` (a run)."""

from __future__ import annotations

from cowlint.engine.files.run import CheckResult, check_file, check_paths, fix_files
from cowlint.engine.module.check import FileResult, check_bytes, check_in_project, check_source, describe_error, fix_bytes

__all__ = ["CheckResult", "FileResult", "check_bytes", "check_file", "check_in_project", "check_paths", "check_source", "describe_error", "fix_bytes", "fix_files"]
