"""Worker processes give exactly the serial findings."""

from __future__ import annotations

import shutil
from pathlib import Path

from cowlint.engine.parallel import PARALLEL_MIN_FILES

from .conftest import FIXTURES, run_cowlint


def test_jobs_give_the_serial_findings(tmp_path: Path) -> None:
    fixtures = sorted(FIXTURES.glob("COW*/*.py"))
    copies = 0
    while copies < 2 * PARALLEL_MIN_FILES:
        for path in fixtures:
            target = tmp_path / f"batch{copies // len(fixtures)}" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
            copies += 1
    (tmp_path / "broken.py").write_text("from multiprocessing import Pool\ndef f(:\n")
    serial = run_cowlint("--isolated", "--output-format", "concise", "-j", "1", str(tmp_path))
    parallel = run_cowlint("--isolated", "--output-format", "concise", "-j", "2", str(tmp_path))
    assert serial.returncode == parallel.returncode == 1
    assert parallel.stdout == serial.stdout
    assert serial.stdout.count("\n") > 100 and "broken.py:2:" in serial.stdout
    text = run_cowlint("--isolated", "-j", "2", str(tmp_path))
    assert text.stdout.count(" |     ") > 100  # source excerpts came back from the workers


def test_jobs_must_be_positive() -> None:
    result = run_cowlint("-j", "0", "fixtures/")
    assert result.returncode == 2
    assert "--jobs" in result.stderr
