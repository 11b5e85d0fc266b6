"""``cowlint --fix``: the first autofix (COW301, gc.freeze() before a fork) on real files."""

from __future__ import annotations

import ast
import difflib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT, console_script, run_cowlint


def _copy(tmp_path: Path, *sources: Path) -> list[Path]:
    copies = []
    for source in sources:
        target = tmp_path / source.name
        shutil.copy(source, target)
        copies.append(target)
    return copies


def _codes(path: Path) -> list[str]:
    result = run_cowlint("--isolated", "--no-cache", "--output-format", "concise", str(path))
    return [line.split(": ", 1)[1].split(" ", 1)[0] for line in result.stdout.splitlines() if ": COW" in line]


def _json(*args: str) -> list[dict[str, object]]:
    import json

    return json.loads(run_cowlint("--isolated", "--no-cache", "--output-format", "json", *args).stdout)


GC_LINES = {"gc.disable()", "gc.freeze()", "gc.enable()", "import gc"}


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe-too"])
def test_fix_on_every_fixture_ends_clean(tmp_path: Path, unsafe: bool) -> None:
    """Every fixture with a fixable finding, fixed, then checked again: none of the fixed findings
    remains and no new one appears (COW301's freeze is not a COW302), the file still compiles,
    only the fix's lines were added, and a second --fix changes nothing."""
    tree = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, tree)
    flags = ["--unsafe-fixes"] if unsafe else []
    before = _json(str(tree))
    fixable = [f for f in before if f["autofix"] and (unsafe or f["fix_applicability"] == "safe")]
    assert len(fixable) >= (17 if unsafe else 15), len(fixable)
    assert unsafe or any(f["fix_applicability"] == "unsafe" for f in before if f["autofix"])
    originals = {path: path.read_text() for path in tree.rglob("*.py")}
    fixed = run_cowlint("--isolated", "--no-cache", "--fix", *flags, str(tree))
    paths = {str(f["path"]) for f in fixable}
    assert f"cowlint: fixed {len(fixable)} findings in {len(paths)} files" in fixed.stderr, fixed.stderr
    after = _json(str(tree))

    def counts(findings: list[dict[str, object]]) -> dict[tuple[object, object], int]:
        found: dict[tuple[object, object], int] = {}
        for finding in findings:
            key = (finding["path"], finding["code"])
            found[key] = found.get(key, 0) + 1
        return found

    expected = counts([f for f in before if f not in fixable])
    assert counts(after) == expected
    for path, text in originals.items():
        new = path.read_text()
        if str(path) not in paths:
            assert new == text, path
            continue
        compile(new, str(path), "exec")
        diff = list(difflib.ndiff(text.splitlines(), new.splitlines()))
        assert not [line for line in diff if line.startswith("- ")], path
        assert {line[2:].strip() for line in diff if line.startswith("+ ")} <= GC_LINES, path
    once = {path: path.read_bytes() for path in originals}
    again = run_cowlint("--isolated", "--no-cache", "--fix", *flags, str(tree))
    assert "fixed" not in again.stderr
    assert {path: path.read_bytes() for path in originals} == once


def test_the_fixed_script_copies_far_less_when_really_forked(tmp_path: Path) -> None:
    """--verify on a script before and after --fix --unsafe-fixes: its workers copied the heap's
    pages before, and almost nothing after (read from each worker's /proc/PID/smaps_rollup)."""
    import json

    if not sys.platform.startswith("linux"):
        pytest.skip("the verifier measures through /proc (Linux)")
    script = tmp_path / "gc_collect.py"
    shutil.copy(FIXTURES / "verify" / "gc_collect.py", script)

    def peak() -> int:
        done = run_cowlint("--verify", str(script), "--output-format", "json", "--", "300000", timeout=240)
        report = json.loads(done.stdout)
        return max(worker["peak_copied_bytes"] for worker in report["workers"] if worker["call_site_index"] is not None)

    unfixed = peak()
    run_cowlint("--isolated", "--no-cache", "--fix", "--unsafe-fixes", str(script))
    assert "gc.disable()" in script.read_text() and _codes(script) == []
    fixed = peak()
    assert unfixed >= 10 * (1 << 20), unfixed  # 300,000 one-item lists: ~20 MiB of pages
    assert fixed * 5 <= unfixed, (fixed, unfixed)


def test_fix_keeps_every_line_ending_style(tmp_path: Path) -> None:
    """LF, CRLF and old-Mac CR files: the inserted lines use the file's own ending, and the final one stays."""
    lines = [
        "import multiprocessing",
        "ROWS = [[n] for n in range(2_000_000)]",
        "def work(i):",
        "    return len(ROWS[i])",
        'if __name__ == "__main__":',
        '    with multiprocessing.get_context("fork").Pool(2) as pool:',
        "        pool.map(work, range(3))",
    ]
    for name, ending in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")):
        path = tmp_path / f"{name}.py"
        path.write_bytes(ending.join(lines).encode() + ending.encode())
        assert _codes(path) == ["COW301"], name
        run_cowlint("--isolated", "--fix", "--unsafe-fixes", str(path))  # a module-level heap, forked under the main guard
        data = path.read_bytes()
        assert data.endswith(ending.encode()), (name, data[-20:])
        expected = ["import gc", lines[0], "gc.disable()", *lines[1:5], "    gc.freeze()", "    gc.enable()", *lines[5:]]  # the fork is the with statement
        assert data.decode() == ending.join(expected) + ending, (name, data)


def test_fix_keeps_comments_and_indentation(tmp_path: Path) -> None:
    (path,) = _copy(tmp_path, ROOT / "examples" / "prefork_server.py")
    assert _codes(path) == ["COW301"]
    run_cowlint("--isolated", "--fix", str(path))
    text = path.read_text()
    assert "import gc\nimport json\nimport os\nimport sys\n" in text
    assert "    gc.disable()\n    with open(path) as handle:\n" in text
    assert "    gc.freeze()\n    gc.enable()\n    for worker in range(workers):\n        pid = os.fork()\n" in text  # once, before the loop
    assert "# ... accept connections and look up routes ..." in text
    assert _codes(path) == []  # neither COW301 nor COW302 (the freeze follows a build with the collector off)
    second = path.read_text()
    run_cowlint("--isolated", "--fix", str(path))
    assert path.read_text() == second


def test_unsafe_and_suppressed_findings_are_not_fixed(tmp_path: Path) -> None:
    path = tmp_path / "oneliner.py"
    source = (
        "import json\nimport os\n\n\ndef one_line(path, ready):\n    routes = json.load(open(path))\n"
        "    if ready: pid = os.fork()\n    return routes\n\n\n"
        "def suppressed(path):\n    routes = json.load(open(path))\n    return os.fork(), routes  # noqa: COW301\n"
    )
    path.write_text(source)
    assert _codes(path) == ["COW301"]
    result = run_cowlint("--isolated", "--fix", "--output-format", "json", str(path))
    assert path.read_text() == source
    assert '"autofix": null' in result.stdout


def test_fix_applies_in_a_module_holding_a_150_deep_literal(tmp_path: Path) -> None:
    # the transform recursed past Python's limit: "internal error while fixing", exit 2, no fix
    nested = "[" * 150 + "]" * 150
    source = (
        "import json\nimport os\n\n"
        f"SHAPES = {nested}\n\n\n"
        "def run(path):\n    with open(path) as handle:\n        table = json.load(handle)\n"
        "    for _ in range(3):\n        if os.fork() == 0:\n            print(len(table))\n            os._exit(0)\n"
    )
    target = tmp_path / "deep.py"
    target.write_text(source)
    assert _codes(target) == ["COW301"]
    fixed = run_cowlint("--isolated", "--no-cache", "--fix", str(target))
    assert "cowlint: fixed 1 finding in 1 file" in fixed.stderr and "internal error" not in fixed.stderr, fixed.stderr
    text = target.read_text()
    assert "gc.freeze()" in text and nested in text
    assert "COW301" not in _codes(target)


HEAP_THEN_FORK = (
    "import json\nimport os\n\n\n"
    "def run(path):\n    with open(path) as handle:\n        table = json.load(handle)\n"
    "    if os.fork() == 0:\n        print(len(table))\n        os._exit(0)\n"
)


def test_fix_through_a_symlink_fixes_the_target_keeps_the_link_and_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "real.py"
    target.write_text(HEAP_THEN_FORK)
    target.chmod(0o640)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    fixed = run_cowlint("--isolated", "--no-cache", "--fix", str(link))
    assert "fixed 1 finding in 1 file" in fixed.stderr, fixed.stderr
    assert link.is_symlink() and "gc.freeze()" in target.read_text()
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(path.name for path in tmp_path.iterdir()) == ["link.py", "real.py"]  # no temporary file left


def test_fix_never_loses_an_edit_made_while_it_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cowlint import Config, check_paths
    from cowlint.engine.files import run as checker

    target = tmp_path / "job.py"
    target.write_text(HEAP_THEN_FORK)
    findings = check_paths([str(target)], Config()).findings
    original_fix = checker.fix_bytes

    def fix_while_someone_appends(data: bytes, path: str, config: Config, project: object = None) -> tuple[bytes, int] | None:
        outcome = original_fix(data, path, config, project)  # type: ignore[arg-type]
        with open(path, "a") as handle:  # another process appends while the fix is computed
            handle.write("\nLATE = 1\n")
        return outcome

    monkeypatch.setattr(checker, "fix_bytes", fix_while_someone_appends)
    fixed, changed, errors, _ = checker.fix_files(findings, Config())
    assert (fixed, changed) == (0, 0) and "changed while cowlint was fixing it" in errors[0]
    assert target.read_text() == HEAP_THEN_FORK + "\nLATE = 1\n"


def test_a_failed_write_leaves_the_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from cowlint import Config, check_paths
    from cowlint.engine.files import run as checker

    target = tmp_path / "job.py"
    target.write_text(HEAP_THEN_FORK)
    findings = check_paths([str(target)], Config()).findings

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)  # the fixed file's flush to disk fails
    fixed, changed, errors, _ = checker.fix_files(findings, Config())
    assert changed == 0 and "No space left on device" in errors[0]
    assert target.read_text() == HEAP_THEN_FORK
    assert [path.name for path in tmp_path.iterdir()] == ["job.py"]


def test_fix_keeps_hard_links_and_refuses_read_only_files(tmp_path: Path) -> None:
    import os

    target = tmp_path / "job.py"
    target.write_text(HEAP_THEN_FORK)
    other = tmp_path / "same_file.py"
    os.link(target, other)
    fixed = run_cowlint("--isolated", "--no-cache", "--fix", str(target))
    assert "fixed 1 finding in 1 file" in fixed.stderr, fixed.stderr
    assert "gc.freeze()" in other.read_text() and target.stat().st_ino == other.stat().st_ino
    locked = tmp_path / "locked" / "job.py"
    locked.parent.mkdir()
    locked.write_text(HEAP_THEN_FORK)
    locked.chmod(0o444)
    if os.access(locked, os.W_OK):  # root may write anything: nothing to refuse
        return
    refused = run_cowlint("--isolated", "--no-cache", "--fix", str(locked))
    assert refused.returncode == 2 and "read-only" in refused.stderr
    assert locked.read_text() == HEAP_THEN_FORK


def _only_lines_added(before: bytes, after: bytes) -> list[bytes]:
    """The lines ``after`` adds to ``before``; fails if anything of ``before`` changed (lines cut
    after \\n, \\r\\n or a lone \\r: a form feed is not a line break)."""
    import re

    def lines(data: bytes) -> list[bytes]:
        return re.findall(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", data)

    old, new = lines(before), lines(after)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    changed = [(tag, old[i1:i2], new[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag not in ("equal", "insert")]
    assert not changed, changed
    return [line for tag, _, _, j1, j2 in matcher.get_opcodes() if tag == "insert" for line in new[j1:j2]]


@pytest.mark.parametrize(
    "source",
    [
        # a form feed (a page break in old editors) starting the line where `import gc` goes
        HEAP_THEN_FORK.replace("import os\n", "\fimport os\n"),
        # and one in front of the statement the freeze goes before
        HEAP_THEN_FORK.replace("    if os.fork()", "\f    if os.fork()"),
        # a blank line that is a lone \r in a \n file, and one at the very end
        HEAP_THEN_FORK.replace("\n\n\ndef", "\n\r\ndef") + "\r",
        # a file of lone \r line breaks, its last line without one
        HEAP_THEN_FORK.replace("\n", "\r").rstrip("\r"),
        # \r\n with a stray \n, and no final line break
        HEAP_THEN_FORK.replace("\n", "\r\n").replace("import os\r\n", "import os\n").rstrip("\r\n"),
    ],
    ids=["form-feed-at-import", "form-feed-at-fork", "lone-cr-lines", "cr-only-no-final-break", "mixed-crlf-no-final-break"],
)
def test_fix_adds_whole_lines_and_changes_no_byte_of_the_file(tmp_path: Path, source: str) -> None:
    target = tmp_path / "job.py"
    target.write_bytes(source.encode())
    run_cowlint("--isolated", "--no-cache", "--fix", str(target))
    after = target.read_bytes()
    added = _only_lines_added(source.encode(), after)
    assert [line.strip() for line in added] == [b"import gc", b"gc.disable()", b"gc.freeze()", b"gc.enable()"], added
    ast.parse(after)  # still Python
    assert "COW301" not in _codes(target)


def test_a_fix_that_would_change_a_line_is_not_written() -> None:
    from cowlint.engine.module.fixes import merge_insertions

    assert merge_insertions("a = 1\n\fb = 2\n", "a = 1\nb = 2\n", "a = 1\nimport gc\nb = 2\n") == "a = 1\nimport gc\n\fb = 2\n"
    assert merge_insertions("a = 1\nb = 2\n", "a = 1\nb = 2\n", "a = 1\nb = 3\n") is None  # a changed line: refused
    assert merge_insertions("a = 1\rb = 2", "a = 1\nb = 2\n", "a = 1\nb = 2\nc = 3\n") == "a = 1\rb = 2\rc = 3\r"


_WRITE_FAULTS = """\
# Makes --fix meet a fault the moment it has flushed its temporary file, before the rename: a
# SIGKILL (a power cut, the OOM killer), a full disk, or another process appending to the file.
import errno
import os
import signal

import cowlint.engine.files.writing as writing

FAULT = os.environ["COWLINT_TEST_WRITE_FAULT"]


class _Faulty:
    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def fsync(fd):
        if FAULT == "disk-full":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(fd)
        if FAULT == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if FAULT == "append":
            with open("app.py", "a") as handle:
                handle.write("\\nLATE = 1\\n")


writing.os = _Faulty()
"""


@pytest.mark.parametrize("fault", ["kill", "disk-full", "append"])
def test_a_fix_meeting_a_fault_mid_write_loses_nothing(tmp_path: Path, fault: str) -> None:
    """The real CLI's --fix, faulted between writing its temporary file and renaming it over the
    original: the file is whole (the original, or the original with the other writer's edit)."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(_WRITE_FAULTS)
    tree = tmp_path / "tree"
    tree.mkdir()
    original = (FIXTURES / "COW301" / "pools_after_heaps.py").read_bytes()
    (tree / "app.py").write_bytes(original)
    env = {**os.environ, "PYTHONPATH": str(hooks), "COWLINT_TEST_WRITE_FAULT": fault}
    done = subprocess.run([console_script(), "--no-cache", "--isolated", "--fix", "app.py"], cwd=tree, capture_output=True, text=True, env=env, timeout=300)
    leftovers = [path.name for path in tree.iterdir() if path.name != "app.py"]
    if fault == "kill":
        assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr
        assert (tree / "app.py").read_bytes() == original  # never truncated, never half-written
        assert all(name.startswith(".app.py.") and name.endswith(".cowlint-fix") for name in leftovers), leftovers
        return
    assert done.returncode != 0 and "Traceback" not in done.stderr and not leftovers, (done.stderr, leftovers)
    if fault == "disk-full":
        assert "app.py: cannot apply fixes, the file was left as it was: No space left on device" in done.stderr, done.stderr
        assert (tree / "app.py").read_bytes() == original
    else:
        assert "app.py: changed while cowlint was fixing it: left as it is now" in done.stderr, done.stderr
        assert (tree / "app.py").read_bytes() == original + b"\nLATE = 1\n"


def test_fix_bytes_fixes_only_the_findings_named() -> None:
    """The language server's quick fix applies one finding's fix, not every fix of the file."""
    from cowlint import Config
    from cowlint.engine.module.check import check_bytes, fix_bytes

    block = "def run{n}():\n    rows = [(i, [i]) for i in range(2_000_000)]\n    with Pool(4) as pool:\n        return pool.map(work, range(len(rows)))\n\n\n"
    source = ("from multiprocessing import Pool\n\n\ndef work(item):\n    return item\n\n\n" + block.format(n=1) + block.format(n=2)).encode()
    findings = [finding for finding in check_bytes(source, "two.py", Config()).findings if finding.code == "COW301"]
    assert len(findings) == 2 and all(finding.autofix for finding in findings)
    every = fix_bytes(source, "two.py", Config())
    assert every is not None and every[1] == 2
    second = findings[1]
    one = fix_bytes(source, "two.py", Config(), only=[(second.code, second.line, second.column)])
    assert one is not None and one[1] == 1
    text = one[0].decode()
    assert text.count("gc.freeze()") == 1
    assert text.index("gc.freeze()") > text.index("def run2")


MODULE_HEAP = (
    "import multiprocessing\n\nROWS = [[n] for n in range(2_000_000)]\n\n\ndef work(i):\n    return len(ROWS[i])\n\n\n"
    'if __name__ == "__main__":\n    with multiprocessing.get_context("fork").Pool(2) as pool:\n        pool.map(work, range(3))\n'
)


def test_diff_prints_the_fix_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    target = tmp_path / "job.py"
    target.write_text(HEAP_THEN_FORK)
    shown = run_cowlint("--isolated", "--no-cache", "--diff", str(target))
    assert shown.returncode == 1, shown.stderr
    assert target.read_text() == HEAP_THEN_FORK
    assert shown.stdout.startswith(f"--- {target}\n+++ {target}\n@@ "), shown.stdout  # an absolute path as it is
    assert [line for line in shown.stdout.splitlines() if line.startswith("+") and not line.startswith("+++")] == [
        "+import gc",
        "+    gc.disable()",
        "+    gc.freeze()",
        "+    gc.enable()",
    ]
    assert "would fix 1 finding in 1 file" in shown.stderr
    # what --diff shows is what --fix writes
    run_cowlint("--isolated", "--no-cache", "--fix", str(target))
    written = difflib.unified_diff(HEAP_THEN_FORK.splitlines(keepends=True), target.read_text().splitlines(keepends=True), fromfile=str(target), tofile=str(target))
    assert "".join(written) == shown.stdout
    clean = run_cowlint("--isolated", "--no-cache", "--diff", str(target))
    assert (clean.returncode, clean.stdout) == (0, ""), clean.stderr


def test_unsafe_fixes_need_the_flag_or_the_setting(tmp_path: Path) -> None:
    target = tmp_path / "job.py"
    target.write_text(MODULE_HEAP)
    text = run_cowlint("--isolated", "--no-cache", str(target))
    assert "= unsafe fix available: insert gc.disable() before building ROWS" in text.stdout and "(cowlint --fix --unsafe-fixes)" in text.stdout
    (finding,) = _json(str(target))
    assert finding["fix_applicability"] == "unsafe"
    run_cowlint("--isolated", "--no-cache", "--fix", str(target))
    assert target.read_text() == MODULE_HEAP  # --fix alone applies safe fixes only
    (tmp_path / "pyproject.toml").write_text("[tool.cowlint]\nunsafe-fixes = true\n")
    refused = run_cowlint("--no-cache", "--fix", "--no-unsafe-fixes", str(target))
    assert target.read_text() == MODULE_HEAP and refused.returncode == 1
    fixed = run_cowlint("--no-cache", "--fix", str(target))
    assert fixed.returncode == 0 and "fixed 1 finding in 1 file" in fixed.stderr, fixed.stdout + fixed.stderr
    assert "gc.disable()\nROWS" in target.read_text()
    (tmp_path / "pyproject.toml").write_text("[tool.cowlint]\nunsafe-fixes = 'yes'\n")
    bad = run_cowlint("--no-cache", str(target))
    assert bad.returncode == 2 and "unsafe-fixes: expected true or false, got 'yes'" in bad.stderr


def test_fix_only_fixes_and_reports_nothing(tmp_path: Path) -> None:
    target = tmp_path / "job.py"
    target.write_text(HEAP_THEN_FORK + "\n\ndef later(path):\n    routes = json.load(open(path))\n    if path: pid = os.fork()\n    return routes\n")
    done = run_cowlint("--isolated", "--no-cache", "--fix-only", str(target))
    assert done.returncode == 0 and done.stdout == "", done.stdout  # the one-line fork stays, unreported
    assert "fixed 1 finding in 1 file" in done.stderr and "gc.freeze()" in target.read_text()
    assert _codes(target) == ["COW301"]


def test_fix_on_standard_input_prints_the_fixed_source() -> None:
    done = run_cowlint("--isolated", "--fix", "--stdin-filename", "job.py", "-", stdin=HEAP_THEN_FORK.encode())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("import gc\n") and "    gc.disable()\n    with open(path)" in done.stdout
    assert "fixed 1 finding" in done.stderr
    remaining = run_cowlint("--isolated", "--fix", "-", stdin=MODULE_HEAP.encode())
    assert remaining.stdout == MODULE_HEAP and remaining.returncode == 1
    assert "-:11:10: COW301" in remaining.stderr  # what remains, on standard error
    diff = run_cowlint("--isolated", "--diff", "-", stdin=HEAP_THEN_FORK.encode())
    assert diff.returncode == 1 and diff.stdout.startswith("--- a/-\n+++ b/-\n")
    refused = run_cowlint("--verify", "job.py", "--diff")
    assert refused.returncode == 2 and "do not combine with --verify" in refused.stderr


def test_fix_calls_gc_by_the_module_s_own_alias(tmp_path: Path) -> None:
    target = tmp_path / "job.py"
    target.write_text(HEAP_THEN_FORK.replace("import json\n", "import gc as _gc\nimport json\n"))
    run_cowlint("--isolated", "--no-cache", "--fix", str(target))
    text = target.read_text()
    assert "    _gc.disable()\n" in text and "    _gc.freeze()\n    _gc.enable()\n" in text
    assert "import gc\n" not in text and _codes(target) == []
    shadowed = tmp_path / "shadowed.py"
    source = HEAP_THEN_FORK.replace("import json\n", "import json\nfrom mytools import gc\n")
    shadowed.write_text(source)
    done = run_cowlint("--isolated", "--no-cache", "--fix", str(shadowed))
    assert shadowed.read_text() == source and "fixed" not in done.stderr  # gc is something else here


def test_show_fixes_and_the_fixable_count(tmp_path: Path) -> None:
    safe = tmp_path / "job.py"
    safe.write_text(HEAP_THEN_FORK)
    unsafe = tmp_path / "script.py"
    unsafe.write_text(MODULE_HEAP)
    report = run_cowlint("--isolated", "--no-cache", str(tmp_path))
    assert report.stdout.rstrip().endswith("[*] 1 fixable with --fix.\n(1 more fixable with --fix --unsafe-fixes.)"), report.stdout
    shown = run_cowlint("--isolated", "--no-cache", "--diff", "--show-fixes", str(tmp_path))
    assert f"Would fix 1 finding:\n- {safe}:\n    1 × COW301 (fork-without-gc-freeze)\n" in shown.stderr, shown.stderr
    fixed = run_cowlint("--isolated", "--no-cache", "--fix", "--unsafe-fixes", "--show-fixes", str(tmp_path))
    each = "    1 × COW301 (fork-without-gc-freeze)\n"
    assert f"Fixed 2 findings:\n- {safe}:\n{each}- {unsafe}:\n{each}" in fixed.stderr, fixed.stderr
    assert fixed.returncode == 0 and "fixable" not in fixed.stdout


def test_no_fix_where_gc_is_a_local_name_and_the_freeze_goes_before_a_collect(tmp_path: Path) -> None:
    """Found in review: a parameter or local named gc took the inserted gc.disable() (AttributeError
    at run time), and a gc.collect() between the build and the fork left the freeze after it (COW302)."""
    shadowed = tmp_path / "shadowed.py"
    source = "import os\n\n\ndef main(gc):\n    rows = [[i] for i in range(2_000_000)]\n    pid = os.fork()\n    if pid == 0:\n        print(len(rows), gc)\n        os._exit(0)\n"
    shadowed.write_text(source)
    assert _codes(shadowed) == ["COW301"]
    run_cowlint("--isolated", "--no-cache", "--fix", "--unsafe-fixes", str(shadowed))
    assert shadowed.read_text() == source
    collecting = tmp_path / "collecting.py"
    plain = source.replace("main(gc)", "main()").replace(", gc)", ")")
    collecting.write_text(plain.replace("import os\n", "import gc\nimport os\n").replace("    pid = os.fork()", "    gc.collect()\n    pid = os.fork()"))
    done = run_cowlint("--isolated", "--no-cache", "--fix", str(collecting))
    assert "fixed 1 finding" in done.stderr, done.stderr
    assert "    gc.freeze()\n    gc.enable()\n    gc.collect()\n" in collecting.read_text()
    assert _codes(collecting) == []
