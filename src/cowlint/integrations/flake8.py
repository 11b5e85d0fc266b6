"""The flake8 plugin: ``flake8 --select COW`` runs cowlint's engine on each file.

Registered as ``COW = "cowlint.integrations.flake8:Checker"`` in the
``flake8.extension`` entry-point group. flake8 never reads ``pyproject.toml``,
so the plugin reads ``[tool.cowlint]`` itself (the nearest one above each
file, and ``requires-python``); ``--cowlint-large-threshold``,
``--cowlint-platforms`` and ``--cowlint-python`` override it.
flake8 keeps its own ``--select``, ``--extend-ignore`` and ``# noqa``: the
plugin reports every finding and lets flake8 filter.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from cowlint._version import __version__
from cowlint.config import Config, ConfigError, parse_platforms, parse_python, parse_size, project_config
from cowlint.engine.module.check import check_bytes, check_in_project
from cowlint.engine.project.index import ProjectIndexes


@lru_cache(maxsize=256)
def _project_config(directory: str) -> Config:
    """``[tool.cowlint]`` for files in ``directory`` (read once per folder)."""
    return project_config(Path(directory))


_projects: ProjectIndexes | None = None


def _project_indexes(config: Config) -> ProjectIndexes:
    """The projects flake8 meets in this process, each read once (flake8 -jN: once per job)."""
    global _projects
    if _projects is None:
        _projects = ProjectIndexes(config)
    return _projects


class Checker:
    """flake8 tree checker; flake8 passes ``tree``, ``lines`` and ``filename`` by name."""

    name = "cowlint"
    version = __version__
    large_threshold: ClassVar[int | None] = None
    platforms: ClassVar[tuple[str, ...] | None] = None
    python: ClassVar[str | None] = None

    def __init__(self, tree: ast.AST, lines: list[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename
        self.parsed = False  # whether the file got past the prefilter to a libcst parse

    @classmethod
    def add_options(cls, option_manager: Any) -> None:
        """Register ``--cowlint-large-threshold``, ``--cowlint-platforms`` and ``--cowlint-python`` (also settable in flake8's config)."""
        option_manager.add_option(
            "--cowlint-large-threshold",
            default=None,
            parse_from_config=True,
            help="cowlint: size at which an object counts as large, e.g. 1MiB (default: [tool.cowlint] or 1MiB)",
        )
        option_manager.add_option(
            "--cowlint-platforms",
            default=None,
            parse_from_config=True,
            help="cowlint: comma-separated target platforms among linux, macos, windows (default: [tool.cowlint] or all)",
        )
        option_manager.add_option(
            "--cowlint-python",
            default=None,
            parse_from_config=True,
            help="cowlint: target Python versions, e.g. '>=3.10,<3.14' (default: [tool.cowlint] python, else requires-python, else all)",
        )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        """Validate the flake8 options once per run."""
        try:
            threshold = getattr(options, "cowlint_large_threshold", None)
            cls.large_threshold = parse_size(threshold) if threshold else None
            platforms = getattr(options, "cowlint_platforms", None)
            cls.platforms = parse_platforms("--cowlint-platforms", platforms) if platforms else None
            python = getattr(options, "cowlint_python", None)
            cls.python = parse_python("--cowlint-python", python) if python else None
        except ConfigError as error:
            raise SystemExit(f"flake8: cowlint: {error}") from None

    def config(self) -> Config:
        """The project's configuration for this file, with the flake8 options on top."""
        directory = str(Path(self.filename).resolve().parent) if self.filename not in ("-", "stdin") else str(Path.cwd())
        try:
            config = _project_config(directory)
        except ConfigError as error:
            raise SystemExit(f"flake8: cowlint: {error}") from None
        changes: dict[str, object] = {}
        if self.large_threshold is not None:
            changes["large_threshold"] = self.large_threshold
        if self.platforms is not None:
            changes["platforms"] = self.platforms
        if self.python is not None:
            changes["python"] = self.python
        return config.with_overrides(**changes) if changes else config

    def run(self) -> Iterator[tuple[int, int, str, type[Checker]]]:
        """Yield ``(line, column, "COWnnn message", type)``; flake8 shows the column plus one."""
        data = "".join(self.lines).encode("utf-8", "surrogatepass")
        config = self.config()
        if self.filename in ("-", "stdin"):
            result = check_bytes(data, self.filename, config, apply_noqa=False)
        else:
            result = check_in_project(data, self.filename, config, _project_indexes(config), apply_noqa=False)
        self.parsed = result.parsed
        for finding in result.findings:
            yield finding.line, finding.column - 1, f"{finding.code} {finding.one_line()}", type(self)
