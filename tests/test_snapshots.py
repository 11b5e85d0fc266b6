"""The rendered output, pinned: text, concise and JSON for every fixture, and the README's example.

Set COWLINT_UPDATE_SNAPSHOTS=1 to rewrite the snapshot files after an intended change, then review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .conftest import ROOT, run_cowlint

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("output_format", ["text", "concise", "json", "github"])
def test_fixture_output_snapshot(output_format: str) -> None:
    result = run_cowlint("--no-cache", "--output-format", output_format, "fixtures/")
    assert result.returncode == 1
    snapshot = SNAPSHOTS / f"fixtures.{output_format}"
    if os.environ.get("COWLINT_UPDATE_SNAPSHOTS"):
        snapshot.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == snapshot.read_text(encoding="utf-8")


def test_readme_example_output_is_real() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"## What it prints\n\n```text\n(.*?)```", readme, re.DOTALL)
    assert shown
    result = run_cowlint("examples/embedding_search.py")
    assert result.returncode == 1
    actual = result.stdout.rsplit("\n\n", 1)[0] + "\n"  # drop the summary line
    # the README shows embedding_search.py's findings, then price_report.py's COW201
    start_method = run_cowlint("--select", "COW201", "examples/price_report.py")
    assert start_method.returncode == 1
    actual += "\n" + start_method.stdout.rsplit("\n\n", 1)[0] + "\n"
    assert shown.group(1) == actual
