"""The prefilter only skips files that cannot produce findings.

Both tiers (the byte prefilter, then the syntax-tree check before the libcst
parse) are off with ``use_prefilter=False``: the full engine must then report
exactly the same rule findings over the fixtures, the examples, the project's
own code and the whole standard library. COW901 (a file that does not parse) is
only reported for files that pass the prefilter, so it is left out of the
comparison.
"""

from __future__ import annotations

import sysconfig

from cowlint import Config, check_paths

from .conftest import ROOT


def _same_findings(paths: list[str], jobs: int = 1) -> tuple[int, int]:
    """(files the prefilter kept from libcst, files in all)."""
    config = Config()
    filtered = check_paths(paths, config, jobs=jobs)
    unfiltered = check_paths(paths, config, use_prefilter=False, jobs=jobs)
    assert not filtered.errors and not unfiltered.errors
    assert [f for f in filtered.findings if f.code != "COW901"] == [f for f in unfiltered.findings if f.code != "COW901"]
    assert unfiltered.files_parsed >= filtered.files_parsed
    return unfiltered.files_parsed - filtered.files_parsed, unfiltered.files_parsed


def test_prefilter_is_sound_on_project_files() -> None:
    _same_findings([str(ROOT / "fixtures"), str(ROOT / "examples"), str(ROOT / "src")])


def test_prefilter_is_sound_on_the_standard_library() -> None:
    # ~1 minute on 2 cores: libcst parses all files once without the prefilter (1,790 in a full CPython
    # 3.11 install; 668 in Debian's python3.11, which leaves the test package out)
    stdlib = sysconfig.get_paths()["stdlib"]
    skipped, total = _same_findings([stdlib], jobs=2)
    assert total > 500 and skipped > 0.9 * total  # the prefilter does skip most of the tree
