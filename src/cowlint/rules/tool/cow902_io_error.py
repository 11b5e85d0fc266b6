"""COW902 io-error: the engine reports it itself."""

from __future__ import annotations

from collections.abc import Iterable

from cowlint.engine.module.context import ModuleContext
from cowlint.rules.base import Report, Rule


class ReadError(Rule):
    """
    ## What it does
    Reports a path that could not be read: it does not exist, permission is
    denied, it is not a regular file, or it is a broken symlink. The run goes
    on with the other files.

    ## Why is this bad?
    A path you asked to check and that was not checked should never pass
    silently.

    ## Known problems
    Symlink loops and broken symlinks met while walking a folder are warnings
    on standard error, not findings.

    ## Example
    ```text
    $ cowlint missing.py
    missing.py:1:1: COW902 cannot read: no such file or directory
    ```

    ## Use instead
    Name paths that exist and are readable.

    ## Options
    None.

    ## Platform notes
    None.

    ## Libraries
    Not applicable: the file could not be read.

    ## Verify
    Not applicable.

    ## Fix safety
    No automatic fix.

    ## References
    - https://docs.python.org/3/library/exceptions.html#OSError
    """

    code = "COW902"
    name = "io-error"
    summary = "A path could not be read, so it was not checked."

    def check(self, module: ModuleContext) -> Iterable[Report]:
        return ()
