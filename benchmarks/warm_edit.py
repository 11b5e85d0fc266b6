"""What a warm run costs after one edit, against the fully warm run, on a real checkout.

    python benchmarks/warm_edit.py CHECKOUT [--file PATH] [--repeat 3] [--cowlint CMD]

Copies CHECKOUT to a temporary folder (the checkout is never written), runs cowlint once
cold, then times, interleaved and ``--repeat`` times each: the fully warm run; a run after a
comment is appended to one file; a run after one statement is added to one function of that
file (its last top-level function, or the last method when there is none). Each edit is undone
after its run and the cache refilled before the next measurement. The file defaults to the
project's hub: the module the most other files of the checkout import (the case where a
per-file dependency record would check half the project again). Prints medians with their
spread, the ratio to the fully warm run, and how many files each run parsed. The issue's target
(issue 14): one file touched costs at most 2x the fully warm run.
"""

from __future__ import annotations

import argparse
import ast
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

_SUMMARY = re.compile(r"\((\d+) files? read(?:, (\d+) parsed)?")


def _hub(root: Path) -> Path:
    """The module of the project the most other files import (``__init__.py`` files aside)."""
    from cowlint.engine.project.index import ProjectIndex
    from cowlint.engine.project.layout import Layout, find_root
    from cowlint.engine.project.summary import summarize

    project = find_root(root / "x.py") or root
    files = sorted(path for path in project.rglob("*.py") if path.is_file())
    index = ProjectIndex(Layout.of(project), {path: summarize(path.read_bytes()) for path in files})
    counts = Counter(target for source in index.summaries for target in index.imports_of(source) if target.name != "__init__.py")
    return max(counts, key=lambda path: (counts[path], str(path)))


def _function_edit(text: str) -> str | None:
    """``text`` with ``_edited = 1`` as the first statement of its last function."""
    tree = ast.parse(text)
    functions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        functions = [item for node in tree.body if isinstance(node, ast.ClassDef) for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        return None
    first = functions[-1].body[0]
    lines = text.splitlines(keepends=True)
    indent = " " * first.col_offset
    lines.insert(first.lineno - 1, f"{indent}_edited = 1\n")
    return "".join(lines)


def _run(command: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([*command, "--exit-zero", "--output-format", "text", "."], cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"cowlint failed ({done.returncode}): {done.stderr[-2000:]}")
    match = _SUMMARY.search(done.stdout.splitlines()[-1] if done.stdout.strip() else "")
    parsed = match.group(2) or "0" if match else "?"
    return elapsed, parsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path)
    parser.add_argument("--file", type=Path, help="the file to edit, relative to the checkout (default: the most imported module)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cowlint", default=f"{shlex.quote(sys.executable)} -m cowlint", help="the command to run (default: this interpreter's cowlint)")
    args = parser.parse_args()
    command = shlex.split(args.cowlint)
    with tempfile.TemporaryDirectory(prefix="warm-edit-") as folder:
        root = Path(folder) / args.checkout.name
        shutil.copytree(args.checkout, root, symlinks=True, ignore=shutil.ignore_patterns(".git", ".cowlint_cache"))
        target = root / args.file if args.file else _hub(root)
        original = target.read_text(encoding="utf-8")
        edits = {"comment appended": original + "\n# edited\n", "one function edited": _function_edit(original)}
        print(f"{args.checkout.name}: editing {target.relative_to(root)}")
        _run(command, root)  # cold: fills the cache
        rows: dict[str, list[tuple[float, str]]] = {"fully warm": []}
        for _ in range(args.repeat):
            rows["fully warm"].append(_run(command, root))
            for label, text in edits.items():
                if text is None:
                    continue
                target.write_text(text, encoding="utf-8")
                rows.setdefault(label, []).append(_run(command, root))
                target.write_text(original, encoding="utf-8")
                _run(command, root)  # the cache holds the original again
        base = statistics.median(elapsed for elapsed, _ in rows["fully warm"])
        print(f"{'run':<22} {'median':>8} {'spread':>15} {'x warm':>7} {'parsed':>7}")
        for label, samples in rows.items():
            times = [elapsed for elapsed, _ in samples]
            median = statistics.median(times)
            print(f"{label:<22} {median:7.2f}s {min(times):6.2f}-{max(times):.2f}s {median / base:6.2f}x {samples[0][1]:>7}")


if __name__ == "__main__":
    main()
