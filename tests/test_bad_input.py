"""Bad input never crashes the run: each case gives a finding or a one-line message, and the other files are still checked."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cowlint import Config, check_paths, check_source
from cowlint.cli import main

from .conftest import console_script, run_cowlint

GOOD = """\
from multiprocessing import Pool

import numpy as np


class Model:
    def __init__(self):
        self.table = np.zeros(1_000_000)

    def predict(self, key):
        return self.table[key]

    def run(self, keys):
        with Pool() as pool:
            return pool.map(self.predict, keys)
"""
GOOD_LINE = 15  # the pool.map line


def _tree(tmp_path: Path, **extra: bytes) -> Path:
    (tmp_path / "good.py").write_text(GOOD)
    for name, data in extra.items():
        (tmp_path / f"{name}.py").write_bytes(data)
    return tmp_path


def _by_file(findings: list) -> dict[str, list[tuple[int, str]]]:
    result: dict[str, list[tuple[int, str]]] = {}
    for f in findings:
        result.setdefault(Path(f.path).name, []).append((f.line, f.code))
    return result


def _assert_good_still_checked(findings: list) -> None:
    assert (GOOD_LINE, "COW101") in _by_file(findings)["good.py"]


def test_syntax_error_is_cow901_with_pythons_position(tmp_path: Path) -> None:
    tree = _tree(tmp_path, broken=b"from multiprocessing import Pool\n\ndef main(:\n    pass\n")
    result = check_paths([str(tree)], Config())
    assert _by_file(result.findings)["broken.py"] == [(3, "COW901")]
    broken = next(f for f in result.findings if f.path.endswith("broken.py"))
    assert broken.message == "syntax error: invalid syntax"
    assert broken.column == 10
    _assert_good_still_checked(result.findings)


@pytest.mark.parametrize(
    "python2",
    [
        'print "started", len(jobs)\n',
        'exec "x = 1"\n',
    ],
)
def test_python2_code_is_a_warning_not_a_finding(python2: str, tmp_path: Path) -> None:
    """A file no Python 3 runs cannot have a problem cowlint reports: it is named on stderr, with
    its line, and the run passes (billiard's Doc/includes, archived scripts); a Python 3 syntax
    error stays COW901."""
    (tmp_path / "legacy.py").write_text("from multiprocessing import Pool\njobs = []\n" + python2)
    (tmp_path / "broken.py").write_text("from multiprocessing import Pool\n\ndef main(:\n    pass\n")
    for _ in range(2):  # the second run reads the cache: the warning is kept with the result
        result = run_cowlint("--output-format", "json", "legacy.py", cwd=tmp_path)
        assert result.returncode == 0, result.stdout
        assert json.loads(result.stdout) == []
        assert re.search(r"cowlint: warning: legacy.py:3:\d+: ", result.stderr), result.stderr
        assert "not checked: Python 2 code (syntax error: " in result.stderr
    # ``except A, B:`` and ``09`` are Python 3 mistakes as much as Python 2 code: they stay COW901
    (tmp_path / "mistake.py").write_text("from multiprocessing import Pool\ntry:\n    pass\nexcept ValueError, TypeError:\n    pass\n")
    mistake = run_cowlint("--output-format", "json", "mistake.py", cwd=tmp_path)
    assert [finding["code"] for finding in json.loads(mistake.stdout)] == ["COW901"]
    (tmp_path / "mistake.py").unlink()
    both = run_cowlint("--output-format", "json", ".", cwd=tmp_path)
    assert both.returncode == 1
    assert [(finding["path"], finding["code"]) for finding in json.loads(both.stdout)] == [("broken.py", "COW901")]


def test_latin1_coding_line_is_decoded_and_checked(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\n# café\n" + GOOD
    tree = _tree(tmp_path, latin=source.encode("latin-1"))
    result = check_paths([str(tree)], Config())
    assert _by_file(result.findings)["latin.py"] == [(GOOD_LINE + 2, "COW101")]


def test_undecodable_bytes_without_coding_line_are_cow901_on_their_line(tmp_path: Path) -> None:
    tree = _tree(tmp_path, bad=("from multiprocessing import Pool\n\nname = 'caf\xe9'\n").encode("latin-1"))
    result = check_paths([str(tree)], Config())
    assert _by_file(result.findings)["bad.py"] == [(3, "COW901")]
    assert "coding" in next(f.message for f in result.findings if f.path.endswith("bad.py"))
    _assert_good_still_checked(result.findings)


def test_bom_is_accepted_and_positions_unshifted(tmp_path: Path) -> None:
    tree = _tree(tmp_path, bom=b"\xef\xbb\xbf" + GOOD.encode())
    findings = check_paths([str(tree)], Config()).findings
    bom = [f for f in findings if f.path.endswith("bom.py")]
    good = [f for f in findings if f.path.endswith("good.py")]
    assert [(f.line, f.column, f.code) for f in bom] == [(f.line, f.column, f.code) for f in good]


def test_bom_only_and_empty_files_are_quiet(tmp_path: Path) -> None:
    tree = _tree(tmp_path, empty=b"", bomonly=b"\xef\xbb\xbf")
    result = check_paths([str(tree)], Config())
    assert set(_by_file(result.findings)) == {"good.py"}
    assert result.files_checked == 3


def test_crlf_line_endings(tmp_path: Path) -> None:
    tree = _tree(tmp_path, crlf=GOOD.replace("\n", "\r\n").encode())
    findings = check_paths([str(tree)], Config()).findings
    crlf = next(f for f in findings if f.path.endswith("crlf.py"))
    good = next(f for f in findings if f.path.endswith("good.py"))
    assert (crlf.line, crlf.column, crlf.end_column) == (good.line, good.column, good.end_column)
    result = run_cowlint(str(tmp_path / "crlf.py"))
    assert "\r" not in result.stdout
    assert "return pool.map(self.predict, keys)\n" in result.stdout


def test_five_megabyte_generated_file(tmp_path: Path) -> None:
    # generated code without multiprocessing: the prefilter skips it without parsing
    generated = "".join(f"VALUE_{i} = {{'key': {i}, 'name': 'item-{i}', 'weights': [{i}, {i + 1}, {i + 2}]}}\n" for i in range(80_000))
    assert len(generated) > 5_000_000
    tree = _tree(tmp_path, generated=generated.encode())
    result = check_paths([str(tree)], Config())
    assert "generated.py" not in _by_file(result.findings)
    assert result.files_checked == 2 and result.files_parsed == 1
    _assert_good_still_checked(result.findings)


def test_large_file_with_a_dispatch_at_its_end_is_parsed_and_located(tmp_path: Path) -> None:
    filler = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n" for i in range(8_000))
    source = filler + GOOD
    findings = check_source(source, "big.py", Config())
    lines = filler.count("\n")
    assert [(f.line, f.code) for f in findings] == [(lines + GOOD_LINE, "COW101")]


def test_unreadable_file() -> None:
    # a world-traversable folder, so that the unprivileged child can reach it
    tmp_path = Path(tempfile.mkdtemp(prefix="cowlint-perm-"))
    tmp_path.chmod(0o755)
    tree = _tree(tmp_path, secret=GOOD.encode())
    (tree / "secret.py").chmod(0)
    check_source(GOOD, "warm.py", Config())  # import everything before dropping privileges
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: as root, permissions are not enforced, so become nobody
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            result = check_paths([str(tree)], Config())
            payload = json.dumps([[Path(f.path).name, f.line, f.code, f.message] for f in result.findings]).encode()
            os.write(write_end, payload)
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    shutil.rmtree(tmp_path)
    findings = json.loads(b"".join(chunks))
    assert ["secret.py", 1, "COW902", "cannot read: Permission denied"] in findings
    assert any(name == "good.py" and code == "COW101" for name, _, code, _ in findings)


def test_directory_symlink_loop_is_a_warning_and_the_rest_is_checked(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "pkg").mkdir()
    (tree / "pkg" / "mod.py").write_text(GOOD)
    (tree / "pkg" / "loop").symlink_to(tree)
    result = run_cowlint("--output-format", "concise", str(tree))
    assert result.returncode == 1
    assert "symlink loop" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout.count("COW101") == 2


def test_missing_path_fifo_broken_symlink_and_directory_named_py(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    os.mkfifo(tree / "pipe.py")
    (tree / "dangling.py").symlink_to(tree / "nowhere.py")
    (tree / "pkg.py").mkdir()
    (tree / "pkg.py" / "inner.py").write_text(GOOD)
    result = run_cowlint("--output-format", "concise", str(tree / "missing.py"), str(tree / "pipe.py"), str(tree / "dangling.py"), str(tree), timeout=60)
    assert result.returncode == 1
    out = result.stdout
    assert "missing.py:1:1: COW902 cannot read: no such file or directory" in out
    assert "pipe.py:1:1: COW902 cannot read: not a regular file" in out
    assert "dangling.py:1:1: COW902 cannot read: broken symlink" in out
    assert f"{tree / 'pkg.py' / 'inner.py'}:{GOOD_LINE}:" in out
    assert f"{tree / 'good.py'}:{GOOD_LINE}:" in out


def test_nesting_deeper_than_python_allows_is_cow901_not_a_crash(tmp_path: Path) -> None:
    deep = "from multiprocessing import Pool\nx = " + "(" * 3000 + "1" + ")" * 3000 + "\n"
    tree = _tree(tmp_path, deep=deep.encode())
    result = run_cowlint("--output-format", "concise", str(tree))
    assert result.returncode == 1
    assert "deep.py:2:" in result.stdout and "COW901 syntax error: too many nested parentheses" in result.stdout
    assert "good.py" in result.stdout


def test_valid_python_libcst_rejects_says_parser_limitation() -> None:
    findings = check_source("from multiprocessing import Pool\n(x): int = 1\n", "limit.py", Config())
    assert [f.code for f in findings] == ["COW901"]
    assert "parser limitation, not an error in your code" in findings[0].message


def test_null_bytes(tmp_path: Path) -> None:
    findings = check_source(b"from multiprocessing import Pool\nx = 1\x00\n", "nul.py", Config())
    assert [f.code for f in findings] == ["COW901"]
    assert "null bytes" in findings[0].message


def test_in_process_main_reports_bad_file_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = _tree(tmp_path, broken=b"from multiprocessing import Pool\nclass :\n")
    assert main(["--output-format", "concise", "--isolated", str(tree)]) == 1
    out = capsys.readouterr().out
    assert "broken.py:2:" in out and "COW901" in out and "good.py" in out


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_unreadable_directory_is_reported(tmp_path: Path) -> None:
    # root reads through any mode bits, so use a name that cannot be listed: a file passed as a directory entry
    result = run_cowlint("--output-format", "concise", str(tmp_path / "good.py" / "x.py"))
    assert result.returncode == 1
    assert "COW902 cannot read" in result.stdout


def test_operator_chain_python_refuses_is_cow901_quickly(tmp_path: Path) -> None:
    # libcst's native parser segfaulted (exit 139) on this after ~30 s; CPython refuses it at once
    chain = "from multiprocessing import Pool\nx = 1" + " + 1" * 7000 + "\n"
    tree = _tree(tmp_path, chain=chain.encode())
    result = run_cowlint("--output-format", "concise", str(tree), timeout=60)
    assert result.returncode == 1
    assert "chain.py:1:1: COW901 too deeply nested for Python's own parser" in result.stdout
    assert "good.py" in result.stdout


def test_huge_constants_neither_hang_nor_crash(tmp_path: Path) -> None:
    source = (
        "from multiprocessing import Pool\nimport numpy as np\n"
        "def f(a):\n    return a\n"
        "A = 10**256\nB = A**256\nC = B * B\nN = 10**200 * 10**200\n"
        "with Pool() as pool:\n    pool.apply(f, (np.zeros(C),))\n    pool.apply(f, (np.zeros(N),))\n"
    )
    tree = _tree(tmp_path, huge=source.encode())
    result = run_cowlint("--output-format", "json", "--isolated", str(tree), timeout=60)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    huge = [f for f in json.loads(result.stdout) if f["path"].endswith("huge.py") and f["code"] == "COW102"]
    assert [f["size_bytes"] for f in huge] == [None, None]  # unknown, not a 2**65536-byte estimate


def test_size_that_overflows_is_a_usage_error_and_a_header_warning(tmp_path: Path) -> None:
    flag = run_cowlint("--large-threshold", "1e400", "--isolated", str(_tree(tmp_path)))
    assert flag.returncode == 2 and "Traceback" not in flag.stderr
    assert "--large-threshold: invalid size '1e400'" in flag.stderr
    (tmp_path / "header.py").write_text("# cowlint: large-threshold=1e400\n" + GOOD)
    header = run_cowlint("--output-format", "concise", "--isolated", str(tmp_path))
    assert header.returncode == 1 and "Traceback" not in header.stderr
    assert "the header is ignored" in header.stderr
    assert header.stdout.count("COW101") == 2


def test_deep_nesting_under_a_small_stack_limit(tmp_path: Path) -> None:
    # CPython accepts 190 nested lists; libcst recurses natively per level, so it
    # parses in a thread with its own large stack, whatever the process limit is
    nested = "from multiprocessing import Pool\nx = " + "[" * 190 + "]" * 190 + "\n"
    tree = _tree(tmp_path, nested=nested.encode())
    command = f"ulimit -s 1024 && exec {console_script()} --output-format concise --isolated {tree}"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, (result.returncode, result.stderr[-300:])
    assert "good.py" in result.stdout and "nested.py" not in result.stdout


def test_exponential_sharing_is_searched_once(tmp_path: Path) -> None:
    lines = ["from multiprocessing import Pool", "import numpy as np", "a0 = np.load('x.npy')"]
    lines += [f"a{i} = ({', '.join([f'a{i - 1}'] * 12)},)" for i in range(1, 8)]
    lines += ["def f(x):", "    return x", "with Pool() as pool:", "    pool.apply(f, (a7,))"]
    findings = check_source("\n".join(lines) + "\n", "blow.py", Config(select=("COW102",)))
    assert [(f.code, f.line) for f in findings] == [("COW102", len(lines))]
    assert "a0 holds np.load('x.npy') result" in findings[0].detail


def test_two_hundred_thousand_lines_are_reported_not_parsed(tmp_path: Path) -> None:
    lines = ["from multiprocessing import Pool", *(f"value_{i} = {i}" for i in range(200_000)), "with Pool(2) as pool:", "    pool.map(abs, range(3))"]
    big = tmp_path / "generated_table.py"
    big.write_text("\n".join(lines) + "\n")
    done = run_cowlint("--isolated", "--no-cache", "--output-format", "concise", str(big))
    assert done.returncode == 1
    assert "generated_table.py:1:1: COW901 the file is 4.0 MiB, over max-file-size (2.0 MiB)" in done.stdout


def test_a_very_long_line_is_parsed_and_located(tmp_path: Path) -> None:
    values = ", ".join(str(i) for i in range(30_000))
    path = tmp_path / "long_line.py"
    path.write_text(f"from multiprocessing import Pool\nDATA = [{values}]\n\n\ndef pick(i):\n    return DATA[i]\n\n\ndef run():\n    with Pool(2) as pool:\n        return pool.map(pick, range(3))\n")
    done = run_cowlint("--isolated", "--no-cache", "--output-format", "json", str(path))
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)
    assert [(f["code"], f["line"], f["column"]) for f in findings] == [("COW202", 2, 8)]
    assert findings[0]["end_column"] > 100_000  # the whole literal, on its one line


def test_snippets_of_huge_nodes_are_not_rendered_whole() -> None:
    """A message quoting a long literal renders its head, and shows exactly the source's first characters."""
    import libcst as cst

    from cowlint.engine.module.snippets import head_code, snippet

    source = "TABLE = {'rows': [(n, str(n)) for n in range(3)] + [" + ", ".join(f"({n}, '{n}')" for n in range(5_000)) + "]}\n"
    module = cst.parse_module(source)
    statement = module.body[0]
    head = head_code(module, statement)
    assert len(head) < 2_000 and len(source) > 50_000
    assert source.startswith(head[:64])
    assert snippet(module, statement) == source[:57] + "..."


def test_snippets_equal_the_whole_rendering_on_every_fixture_node() -> None:
    """Cutting long sequences never changes what a snippet shows (every expression and statement of the fixtures)."""
    import libcst as cst

    from cowlint.engine.module.snippets import _LOOSE_SPACE, snippet

    from .conftest import FIXTURES

    checked = 0
    for path in sorted(FIXTURES.rglob("*.py")):
        module = cst.parse_module(path.read_bytes())
        for node in _nodes(module):
            whole = _LOOSE_SPACE.sub("", " ".join(module.code_for_node(node).split()))
            expected = whole if len(whole) <= 60 else whole[:57] + "..."
            assert snippet(module, node) == expected, (path, expected)
            checked += 1
    assert checked > 5_000


def _nodes(module: object) -> list[object]:
    import libcst as cst

    found: list[object] = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, (cst.BaseExpression, cst.BaseStatement)):
                found.append(node)
            return True

    assert isinstance(module, cst.Module)
    module.visit(Collect())
    return found


@pytest.mark.parametrize("codec", ["undefined", "punycode"])
def test_a_coding_line_whose_codec_raises_is_cow901(tmp_path: Path, codec: str) -> None:
    bad = f"# coding: {codec}\nfrom multiprocessing import Pool\nPool().map(print, [1])\n".encode("ascii")
    tree = _tree(tmp_path, bad=bad)
    result = run_cowlint("--no-cache", "--output-format", "concise", str(tree))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"bad.py:1:1: COW901 cannot decode the file: the declared encoding '{codec}' cannot decode it" in result.stdout
    assert "good.py" in result.stdout
    assert [f.code for f in check_source(bad, "bad.py")] == ["COW901"]


def _deep_chain_module(depth: int, joiner: str = ".") -> str:
    chain = joiner.join(["a"] * depth)
    return f"from concurrent.futures import ProcessPoolExecutor\n\nwith ProcessPoolExecutor(2) as ex:\n    ex.submit(print, {chain})\n"


@pytest.mark.parametrize("joiner", [".", " + "], ids=["attribute_chain", "binary_expression"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_reported_statement_holding_a_500_deep_chain_is_located(tmp_path: Path, jobs: str, joiner: str) -> None:
    # the position lookup recursed past Python's limit, then so did formatting the error
    tree = _tree(tmp_path, deep=_deep_chain_module(500, joiner).encode())
    for index in range(20):  # enough files for worker processes
        (tmp_path / f"copy{index}.py").write_text(GOOD)
    result = run_cowlint("--no-cache", "--jobs", jobs, "--output-format", "concise", str(tree))
    assert result.returncode == 1 and "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert "deep.py:4:5: COW203" in result.stdout
    assert result.stdout.count("COW101") == 21


def test_a_closed_pipe_ends_the_run_quietly(tmp_path: Path) -> None:
    # far more output than a pipe holds, so the write fails once ``head`` has gone
    tree = _tree(tmp_path, many=(GOOD + "\n".join(f"        pool.map(self.predict, keys{i})" for i in range(1500)) + "\n").encode())
    pipeline = subprocess.run(f"'{console_script()}' --no-cache --jobs 1 '{tree}' | head -1", shell=True, capture_output=True, text=True, timeout=300)
    assert pipeline.stdout.count("\n") == 1
    assert pipeline.stderr == ""


def test_an_internal_error_exits_2_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import cowlint.cli

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug in cowlint")

    monkeypatch.setattr(cowlint.cli, "check_paths", broken)
    assert main(["--no-cache", str(_tree(tmp_path))]) == 2
    assert "cowlint: internal error, please report it: ZeroDivisionError: a bug in cowlint" in capsys.readouterr().err


def test_an_error_message_that_cannot_render_is_still_reported() -> None:
    from cowlint.engine.module.check import describe_error

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RecursionError("maximum recursion depth exceeded")

    assert describe_error(Unprintable()) == "Unprintable: <the error message could not be rendered>"
    assert len(describe_error(ValueError("x" * 10_000))) < 400


def test_a_sparse_4_gib_file_is_reported_without_being_read(tmp_path: Path) -> None:
    sparse = tmp_path / "sparse.py"
    sparse.write_text("from multiprocessing import Pool\nPool().map(print, [1])\n")
    os.truncate(sparse, 4 * 1024**3)  # holes: no disk used, 4 GiB to read
    tree = _tree(tmp_path)
    with subprocess.Popen([console_script(), "--no-cache", "--jobs", "1", "--output-format", "concise", str(tree)], stdout=subprocess.PIPE, text=True) as process:
        stdout = process.stdout.read() if process.stdout is not None else ""
        _, _, usage = os.wait4(process.pid, 0)
        process.returncode = 1
    assert "sparse.py:1:1: COW901 the file is 4.0 GiB, over max-file-size" in stdout
    assert "good.py" in stdout
    assert usage.ru_maxrss < 512 * 1024, f"peak RSS {usage.ru_maxrss} KiB"  # the file was never read whole


def test_a_header_may_still_raise_max_file_size_for_its_own_big_file(tmp_path: Path) -> None:
    body = "from multiprocessing import Pool\nimport numpy as np\nDATA = np.zeros(10)\n" + "# padding\n" * 300_000
    big = tmp_path / "big.py"
    big.write_text("# cowlint: max-file-size=8MiB\n" + body + "with Pool() as pool:\n    pool.map(print, DATA)\n")
    result = run_cowlint("--no-cache", "--output-format", "concise", str(big))
    assert "COW901" not in result.stdout and "COW203" in result.stdout, result.stdout


@pytest.mark.parametrize("output_format", ["text", "concise", "json", "sarif", "github"])
def test_a_file_name_that_is_not_utf8_is_reported_on_a_strict_utf8_stdout(tmp_path: Path, output_format: str) -> None:
    (tmp_path / os.fsdecode(b"bad\xff.py")).write_bytes(b"from multiprocessing import Pool\nPool().map(print, [1])\n")
    result = subprocess.run(
        [console_script(), "--no-cache", "--output-format", output_format, "."],
        cwd=tmp_path,
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=120,
    )
    assert result.returncode == 1, result.stderr.decode(errors="replace")
    assert b"COW203" in result.stdout and b"Traceback" not in result.stderr
    if output_format == "sarif":
        assert b'"uri": "bad%FF.py"' in result.stdout


def test_a_module_too_big_to_analyse_is_reported_before_libcst_parses_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ast

    from cowlint import check_source
    from cowlint.engine.module import check

    measure = (
        "import libcst, psutil, sys\nsource = open(sys.argv[1]).read()\nbefore = psutil.Process().memory_info().rss\n"
        "tree = libcst.parse_module(source)\nprint(psutil.Process().memory_info().rss - before)\n"
    )

    def within_twice(source: str) -> int:
        """The estimate against what libcst really takes, in a fresh interpreter (in this one,
        memory freed by earlier tests would be reused and go unmeasured)."""
        estimate = check.parse_cost(ast.parse(source), len(source))
        module = tmp_path / "measured.py"
        module.write_text(source)
        measured = int(subprocess.run([sys.executable, "-c", measure, str(module)], capture_output=True, text=True, check=True).stdout)
        assert measured / 2 < estimate < measured * 2, (estimate, measured)  # within 2x of what libcst takes
        return estimate

    within_twice("y = " + "not " * 900 + "x\n")  # libcst's parser grows with the square of the depth
    calls = "".join(f"pool.map(len, [{number}])\n" for number in range(12_000))
    source = "from multiprocessing import Pool\npool = Pool()\n" + calls
    estimate = within_twice(source)
    monkeypatch.setattr(check, "PARSE_MEMORY_BUDGET", estimate // 2)
    (finding,) = check_source(source, "big.py")
    assert finding.code == "COW901" and "of memory for libcst's syntax tree" in finding.message and (finding.line, finding.column) == (1, 1)
    monkeypatch.setattr(check, "PARSE_MEMORY_BUDGET", estimate * 2)
    assert {finding.code for finding in check_source(source, "big.py")} != {"COW901"}


def test_a_module_past_its_analysis_budget_is_reported_and_checked_again(tmp_path: Path) -> None:
    """The per-module time budget: the analysis stops, the file is COW901, the other files are
    still reported, and the timed-out result is not cached (the next run tries again)."""
    (tmp_path / "pyproject.toml").write_text("[tool.cowlint]\n")
    (tmp_path / "slow.py").write_text("# cowlint: max-analysis-seconds=0.000001\n" + GOOD)
    (tmp_path / "fine.py").write_text(GOOD)
    runs = [run_cowlint("--output-format", "concise", ".", cwd=tmp_path) for _ in range(2)]
    for done in runs:
        assert done.returncode == 1, done.stderr
        assert "slow.py:1:1: COW901 analysing it took longer than max-analysis-seconds (1e-06 s): stopped, so not checked" in done.stdout
        assert f"fine.py:{GOOD_LINE + 0}:" in done.stdout and "fine.py:1:1: COW901" not in done.stdout, done.stdout
    summary = run_cowlint(".", cwd=tmp_path).stdout
    assert "2 files read, 1 parsed" in summary, summary  # slow.py again; fine.py from the cache
    assert run_cowlint("--max-analysis-seconds", "soon", ".", cwd=tmp_path).returncode == 2


_FAULT_INJECTION = """\
# Makes one rule fail on files named boom.py, in this process and in every worker (which the
# forkserver starts with this same PYTHONPATH): a bug cowlint's own code could have.
import cowlint.rules.startmethod.cow203_unguarded_process_start as target

_check = target.UnguardedProcessStart.check


def check(self, module):
    if module.path.endswith("boom.py"):
        raise ZeroDivisionError("injected")
    return _check(self, module)


target.UnguardedProcessStart.check = check
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_internal_error_in_one_file_exits_2_names_it_and_keeps_the_rest(tmp_path: Path, jobs: str) -> None:
    """A bug of cowlint's own that one file triggers: exit 2, that file named with the error,
    and the findings of every other file still reported, with and without worker processes."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(_FAULT_INJECTION)
    tree = tmp_path / "tree"
    tree.mkdir()
    for index in range(20):  # enough files for worker processes
        (tree / f"job{index:02d}.py").write_text(GOOD)
    (tree / "boom.py").write_text(GOOD)
    env = {**os.environ, "PYTHONPATH": str(hooks)}
    result = subprocess.run([console_script(), "--no-cache", "--jobs", jobs, "--output-format", "concise", "."], cwd=tree, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "boom.py: internal error, please report it: ZeroDivisionError: injected" in result.stderr, result.stderr
    assert all(f"job{index:02d}.py:{GOOD_LINE}:" in result.stdout for index in range(20)), result.stdout


_PEAK_OF_CHILD = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"


def test_forty_six_lines_of_negations_are_reported_in_little_memory(tmp_path: Path) -> None:
    """A 184 KiB module of 46 lines of 1,000 chained ``not``: libcst's tree of it would take
    ~2.1 GiB; the CLI reports it (COW901) from CPython's tree, within a bounded peak."""
    lines = ["from multiprocessing import Pool", *(f"y{index} = {'not ' * 1000}x" for index in range(45))]
    (tmp_path / "negations.py").write_text("\n".join(lines) + "\n")
    done = run_cowlint("--no-cache", "--isolated", "--output-format", "concise", "negations.py", cwd=tmp_path)
    assert done.returncode == 1 and "negations.py:1:1: COW901 analysing it would take ~2.1 GiB of memory" in done.stdout, done.stdout + done.stderr
    peak = subprocess.run([sys.executable, "-c", _PEAK_OF_CHILD, console_script(), "--no-cache", "--isolated", "negations.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert int(peak.stdout) < 512 * 1024, peak.stdout  # KiB


def test_a_hundred_thousand_dispatches_are_reported_within_a_bounded_peak(tmp_path: Path) -> None:
    """1.1 MB of ``p.map(g,x)``, under max-file-size: libcst's tree would take ~2.2 GiB, so the
    module is reported (COW901) from CPython's tree; the peak is that tree (~560 MiB), not libcst's."""
    (tmp_path / "dispatches.py").write_text("from multiprocessing import Pool\np = Pool()\n" + "p.map(g,x)\n" * 100_000)
    peak = subprocess.run(
        [sys.executable, "-c", _PEAK_OF_CHILD, console_script(), "--no-cache", "--isolated", "--output-format", "concise", "dispatches.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert int(peak.stdout) < 1024 * 1024, peak.stdout  # KiB
    done = run_cowlint("--no-cache", "--isolated", "--output-format", "concise", "dispatches.py", cwd=tmp_path)
    assert "dispatches.py:1:1: COW901 analysing it would take ~2.2 GiB of memory" in done.stdout, done.stdout + done.stderr
