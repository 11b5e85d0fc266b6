"""The prefilter only skips files that cannot produce findings.

The full engine without the prefilter must report exactly the same findings
over the fixtures, the examples, the project's own code, and the standard
library's files that mention multiprocessing or concurrency (a bounded sample,
so the test stays quick; the whole tree is in benchmarks).
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

from cowlint import Config, check_paths

from .conftest import ROOT


def _same_findings(paths: list[str]) -> int:
    config = Config()
    filtered = check_paths(paths, config)
    unfiltered = check_paths(paths, config, use_prefilter=False)
    assert filtered.findings == unfiltered.findings
    assert unfiltered.files_parsed >= filtered.files_parsed
    return unfiltered.files_parsed - filtered.files_parsed


def test_prefilter_is_sound_on_project_files() -> None:
    _same_findings([str(ROOT / "fixtures"), str(ROOT / "examples"), str(ROOT / "src")])


def test_prefilter_is_sound_on_stdlib_sample() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sample = sorted(str(p) for p in (stdlib / "multiprocessing").glob("*.py")) + sorted(str(p) for p in (stdlib / "concurrent" / "futures").glob("*.py"))
    sample += [str(stdlib / name) for name in ("compileall.py", "subprocess.py", "asyncio/base_events.py", "logging/handlers.py") if (stdlib / name).exists()]
    skipped = _same_findings(sample)
    assert skipped > 0  # the sample includes files the prefilter does skip
