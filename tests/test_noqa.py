"""``# noqa`` handling: flake8's syntax, read strictly, only in real comments."""

from __future__ import annotations

import pytest

from cowlint import Config, check_source
from cowlint.engine.module.noqa import suppressed

SOURCE = """\
from multiprocessing import Pool
import numpy as np


class Job:
    def __init__(self):
        self.data = np.zeros(10**8)

    def work(self, i):
        return i

    def run(self):
        with Pool() as pool:
            return pool.map(self.work, range(4)){comment}
"""


@pytest.mark.parametrize(
    ("comment", "quiet"),
    [
        ("", False),
        ("  # noqa", True),
        ("  # NOQA", True),
        ("  # noqa: COW101", True),
        ("  # noqa:COW101", True),
        ("  # noqa:  COW101", True),
        ("  # noqa : COW101", True),
        ("  # noqa: COW102, COW101", True),
        ("  # noqa: COW1", True),
        ("  # noqa: COW102", False),
        ("  # noqa:  COW102", False),
        ("  # noqa: COW1O1", False),
        ("  # noqa: E501 because the line is long", False),
        ("  # type: ignore  # noqa: COW101", True),
    ],
)
def test_noqa_comment(comment: str, quiet: bool) -> None:
    findings = check_source(SOURCE.format(comment=comment), "job.py", Config())
    assert (not findings) is quiet, comment


def test_noqa_inside_a_string_does_not_suppress() -> None:
    source = SOURCE.format(comment="").replace("range(4))", 'range(4)) if "# noqa" else None')
    assert [f.code for f in check_source(source, "job.py", Config())] == ["COW101"]


def test_suppressed_helper_prefix_semantics() -> None:
    assert suppressed("# noqa: COW1", "COW101")
    assert not suppressed("# noqa: COW10", "COW201")
    assert not suppressed("x = 1", "COW101")
