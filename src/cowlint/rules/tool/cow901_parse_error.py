"""COW901 parse-error: the engine reports it itself."""

from __future__ import annotations

from collections.abc import Iterable

from cowlint.engine.module.context import ModuleContext
from cowlint.rules.base import Report, Rule


class ParseError(Rule):
    """
    ## What it does
    Reports a file that could not be parsed: a syntax error, bytes that are
    not valid in the file's encoding, or a construct that libcst's parser
    does not support (the message says which, by asking Python's own parser).
    The run goes on with the other files.

    ## Why is this bad?
    A file cowlint cannot read is a file it cannot check: a silent skip would
    hide findings.

    ## Known problems
    Only files that pass the prefilter (they mention pools, executors or
    processes) are parsed, so a syntax error in an unrelated file is not
    reported: that is the job of your other linters.

    A file written in Python 2, told by the `print` or `exec` statement
    CPython refuses first, is not a finding: no Python 3 runs it, so it has
    none of the problems cowlint reports. A warning on stderr names it with
    its line, and the run passes; exclude the file to silence it. Other
    Python 2 syntax (`except E, e:`, `0777`, backticks) is also a Python 3
    mistake or not told apart, and stays COW901.

    ## Example
    ```text
    from multiprocessing import Pool
    def main(:
        ...
    ```

    ## Use instead
    ```python
    from multiprocessing import Pool


    def main():
        ...
    ```

    ## Options
    None.

    ## Platform notes
    None.

    ## Libraries
    Not applicable: the file could not be read as Python.

    ## Verify
    Not applicable.

    ## Fix safety
    No automatic fix.

    ## References
    - https://libcst.readthedocs.io/en/latest/parser.html
    """

    code = "COW901"
    name = "parse-error"
    summary = "The file could not be parsed, so it was not checked."

    def check(self, module: ModuleContext) -> Iterable[Report]:
        return ()
