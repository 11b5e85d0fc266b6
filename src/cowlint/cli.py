"""The ``cowlint`` command: argument parsing only; the work is the engine's."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cowlint._version import __version__
from cowlint.config import CONFIG_KEYS, Config, ConfigError, load_config, parse_codes, parse_platforms, parse_python, parse_seconds, parse_size, parse_target_version, project_config
from cowlint.engine.files.cache import CACHE_DIR, Cache
from cowlint.engine.files.run import CheckResult, _merge, check_paths, fix_files
from cowlint.engine.finding import Finding
from cowlint.engine.module.check import check_bytes, fix_bytes
from cowlint.engine.source import decode_source
from cowlint.report import RENDERERS, style
from cowlint.rules import RULE_NAMES

DESCRIPTION = """\
Find Python multiprocessing code that silently loses fork's copy-on-write
sharing, or silently depends on it: instances (COW101) and large objects
(COW102) pickled into every task instead of being shared; workers that read
state only a forked worker inherits (COW201), data every spawned worker
rebuilds (COW202), process starts outside the main guard (COW203),
callables pickle cannot send (COW204), forks after threads (COW205), forks
after a large heap without gc.freeze() (COW301, fixable with --fix), a
freeze after the collector ran (COW302), fork workers reading every item of
big containers of Python objects, DataLoader datasets included (COW303),
workers writing module globals (COW304). Each
finding names the call, estimates the size, names the platforms and Python
versions where it breaks, and says what to do instead.

Static checking never imports or executes your code.
"""

EPILOG = """\
exit status: 0 no findings, 1 findings, 2 usage, configuration or internal error.

configuration: [tool.cowlint] in the nearest pyproject.toml (select, ignore,
per-file-ignores, exclude, extend-select, extend-ignore, extend-exclude, large-threshold, max-file-size,
max-analysis-seconds, platforms, python, target-version, unsafe-fixes)
and [project] requires-python; flags override them. A file may set its own context in a leading comment:
"# cowlint: large-threshold=100MiB platforms=linux python=<3.14".
Suppress one finding with "# noqa: COW101" in a comment on its line.

examples:
  cowlint src/                     check a tree ("cowlint check src/" is the same)
  cowlint --diff src/              the fixes --fix would make, as a diff
  cowlint --output-format json .   machine-readable findings
  cowlint --explain COW101         what a rule finds, why, and the fix
  cowlint server                   a language server for editors (docs/editors.md)
  cat app.py | cowlint - --stdin-filename app.py
  cowlint --verify app.py --compare freeze,spawn -- --workers 4
                                   run app.py (with its arguments after --),
                                   measure what each worker copied
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to render ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="cowlint",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check (default: .); '-' reads standard input")
    parser.add_argument("--version", action="version", version=f"cowlint {__version__}")
    parser.add_argument("--select", metavar="CODES", help="comma-separated codes or prefixes to report (e.g. COW101 or COW1); replaces the configured list")
    parser.add_argument("--ignore", metavar="CODES", help="comma-separated codes or prefixes not to report (added to the configured ones)")
    parser.add_argument("--extend-select", metavar="CODES", help="codes or prefixes to report on top of the configured select")
    parser.add_argument("--extend-ignore", metavar="CODES", help="the same as --ignore (ruff's older spelling)")
    parser.add_argument("--exclude", metavar="PATTERNS", help="comma-separated file patterns to skip; replaces [tool.cowlint] exclude")
    parser.add_argument("--extend-exclude", metavar="PATTERNS", help="file patterns to skip on top of the configured exclude")
    parser.add_argument(
        "--output-format",
        choices=sorted(RENDERERS),
        default="text",
        help="text or full (default: source excerpt, note and fix), concise (one line each), grouped (by file), pylint, json, "
        "sarif (SARIF 2.1.0 for code scanning) or github (Actions annotations)",
    )
    parser.add_argument(
        "--respect-gitignore",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="skip the untracked files the work tree's .gitignore files ignore when walking folders; tracked files are always checked (default: yes; [tool.cowlint] respect-gitignore)",
    )
    parser.add_argument("--output-file", "-o", metavar="PATH", help="write the report to PATH instead of standard output")
    parser.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour the text, concise and summary output: auto (default) on a terminal unless NO_COLOR is set, always, never",
    )
    parser.add_argument("--statistics", action="store_true", help="print how many findings each rule has, instead of the findings")
    parser.add_argument("--large-threshold", metavar="SIZE", help="size at which an object counts as large, e.g. 1MiB (default), 512KiB, 10MB")
    parser.add_argument("--platforms", metavar="LIST", help="target platforms, comma-separated among linux, macos, windows (default: [tool.cowlint] platforms, or all three)")
    parser.add_argument("--target-version", metavar="pyNNN", help="the oldest Python the code runs on, as ruff spells it (py310 is --python '>=3.10')")
    parser.add_argument(
        "--python",
        metavar="SPEC",
        help="target Python versions, e.g. '>=3.10,<3.14' or 3.13 (default: [tool.cowlint] python, else requires-python, else every version); Linux forks by default before 3.14",
    )
    parser.add_argument(
        "--max-analysis-seconds",
        metavar="SECONDS",
        help="a module whose analysis takes longer is reported (COW901) as not checked, instead of stalling the run (default 60)",
    )
    parser.add_argument("--max-file-size", metavar="SIZE", help="files larger than this are reported (COW901) instead of parsed (default 2MiB; parsing takes ~1,000x the file size in memory)")
    parser.add_argument("--stdin-filename", metavar="NAME", help="read standard input (as with '-') and show it as NAME, matching per-file-ignores against it")
    parser.add_argument("--config", metavar="PYPROJECT", help="read [tool.cowlint] from this file instead of the nearest pyproject.toml")
    parser.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    parser.add_argument("--jobs", "-j", type=int, metavar="N", default=None, help="worker processes for big trees (default: the number of CPUs; 1 checks in this process)")
    parser.add_argument(
        "--fix",
        action="store_true",
        help="apply the safe automatic fixes (COW301: gc.disable() before the build, gc.freeze() and gc.enable() before the fork), then report what remains; "
        "with standard input, print the fixed source",
    )
    parser.add_argument(
        "--unsafe-fixes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply the unsafe fixes too, those that may change what the program does (default: [tool.cowlint] unsafe-fixes, else no)",
    )
    parser.add_argument("--watch", action="store_true", help="check again whenever a file under PATH changes, until Ctrl-C")
    parser.add_argument("--show-fixes", action="store_true", help="with --fix or --diff, list the findings the fixes repair, per file and rule")
    parser.add_argument("--add-noqa", action="store_true", help="add a '# noqa: CODE' comment to every line with a finding (to adopt cowlint on old code), and exit")
    parser.add_argument("--fix-only", action="store_true", help="apply the fixes and report nothing else (implies --fix); exit 0 unless an error")
    parser.add_argument("--diff", action="store_true", help="print the fixes as unified diffs instead of writing them (implies --fix-only); exit 1 when there is one")
    parser.add_argument("--no-cache", action="store_true", help=f"check every file again instead of reusing the results kept in {CACHE_DIR}/ for unchanged files")
    parser.add_argument("--force-exclude", action="store_true", help="apply exclude to the paths named on the command line too (for pre-commit, which names every file)")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary line")
    parser.add_argument("--explain", metavar="CODE", help="print a rule's documentation (by code or name: COW101, self-shipped-to-pool) and exit")
    parser.add_argument("--show-settings", action="store_true", help="print the configuration in force (file and flags together) and exit")
    parser.add_argument("--show-files", action="store_true", help="print the files that would be checked and exit")
    parser.add_argument("--list-rules", action="store_true", help="list every rule with its code, name and summary, and exit")
    parser.add_argument("--no-prefilter", action="store_true", help=argparse.SUPPRESS)
    from cowlint.verify.command import add_arguments

    add_arguments(parser)
    return parser


class UsageError(Exception):
    """Bad command-line usage: exit 2 with this reason."""


def resolve_config(args: argparse.Namespace) -> Config:
    """The configuration file (unless --isolated), then the flags on top."""
    if args.isolated:
        config = Config()
    elif args.config:
        path = Path(args.config)
        if not path.is_file():
            raise ConfigError(f"--config {args.config}: no such file")
        config = load_config(path)
    else:
        named = args.verify or args.stdin_filename or (args.paths[0] if args.paths and args.paths[0] != "-" else None)
        start = Path(named) if named else Path.cwd()
        config = project_config(start if start.exists() else Path.cwd())
    changes: dict[str, Any] = {}
    if args.select is not None:
        changes["select"] = parse_codes("--select", args.select)
    if args.extend_select is not None:
        changes["select"] = tuple(changes.get("select", config.select)) + parse_codes("--extend-select", args.extend_select)
    for flag in ("ignore", "extend_ignore"):
        if getattr(args, flag) is not None:
            changes["ignore"] = tuple(changes.get("ignore", config.ignore)) + parse_codes(f"--{flag.replace('_', '-')}", getattr(args, flag))
    if args.exclude is not None:
        changes["exclude"] = _patterns(args.exclude)
    if args.extend_exclude is not None:
        changes["exclude"] = tuple(changes.get("exclude", config.exclude)) + _patterns(args.extend_exclude)
    for flag, field in (("large_threshold", "large_threshold"), ("max_file_size", "max_file_size")):
        value = getattr(args, flag)
        if value is not None:
            try:
                changes[field] = parse_size(value)
            except ConfigError as error:
                raise ConfigError(f"--{flag.replace('_', '-')}: {error}") from None
    if args.max_analysis_seconds is not None:
        changes["max_analysis_seconds"] = parse_seconds("--max-analysis-seconds", args.max_analysis_seconds)
    if args.platforms is not None:
        changes["platforms"] = parse_platforms("--platforms", args.platforms)
    if args.target_version is not None:
        changes["python"] = parse_target_version("--target-version", args.target_version)
    if args.python is not None:
        changes["python"] = parse_python("--python", args.python)
    if getattr(args, "unsafe_fixes", None) is not None:
        changes["unsafe_fixes"] = args.unsafe_fixes
    if getattr(args, "respect_gitignore", None) is not None:
        changes["respect_gitignore"] = args.respect_gitignore
    return config.with_overrides(**changes) if changes else config


def _patterns(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def explain(code: str) -> str:
    """The documentation of one rule, named by its code or its name."""
    from cowlint.rules.registry import ALL_RULES, RULES_BY_CODE

    wanted = code.strip()
    rule = RULES_BY_CODE.get(wanted.upper()) or next((rule for rule in ALL_RULES if rule.name == wanted.lower()), None)
    if rule is None:
        known = ", ".join(f"{rule.code} ({rule.name})" for rule in ALL_RULES)
        raise UsageError(f"--explain: unknown rule {code!r}; known rules: {known}")
    return rule.documentation()


def show_settings(config: Config) -> str:
    """The configuration in force, as ``[tool.cowlint]`` keys (TOML)."""
    import dataclasses
    import json

    keys = {field: key for key, (field, _) in CONFIG_KEYS.items() if key != "target-version"}
    lines = [f"# read from {config.source}" if config.source else "# no configuration file: the defaults and the flags"]
    for field in dataclasses.fields(config):
        key = keys.get(field.name)
        if key is None:
            continue
        value = getattr(config, field.name)
        if field.name == "per_file_ignores":
            shown = "{" + ", ".join(f"{json.dumps(pattern)} = {json.dumps(list(codes))}" for pattern, codes in value) + "}"
        elif field.name == "extra_dispatch_apis":
            shown = "{" + ", ".join(api.toml() for api in value) + "}"
        elif value is None:
            shown = "\"\"  # every version" if field.name == "python" else '""'
        else:
            shown = json.dumps(list(value) if isinstance(value, tuple) else value)
        lines.append(f"{key} = {shown}")
    return "\n".join(lines) + "\n"


def list_rules() -> str:
    """A table of every rule."""
    from cowlint.rules.registry import ALL_RULES

    width = max(len(rule.name) for rule in ALL_RULES)
    lines = [f"{rule.code}  {rule.name:<{width}}  {rule.summary}" for rule in ALL_RULES]
    return "\n".join(lines) + "\n"


def run_stdin(name: str, config: Config, use_prefilter: bool) -> CheckResult:
    """Check standard input as one module named ``name``."""
    outcome = CheckResult()
    data = sys.stdin.buffer.read()
    _merge(outcome, check_bytes(data, name, config, use_prefilter=use_prefilter))
    return outcome


def fix_stdin(name: str, config: Config, args: argparse.Namespace) -> int:
    """``--fix``/``--fix-only``/``--diff`` on standard input: the fixed source on standard output
    (or its diff), what remains on standard error, as ruff does for editors that pipe a buffer."""
    data = sys.stdin.buffer.read()
    outcome = fix_bytes(data, name, config)
    after = outcome[0] if outcome is not None else data
    if args.diff:
        sys.stdout.write(unified_diff(name, data, after))
        return 1 if outcome is not None else 0
    sys.stdout.buffer.write(after)
    sys.stdout.flush()
    if outcome is not None:
        sys.stderr.write(f"cowlint: fixed {_plural(outcome[1], 'finding')}\n")
    if args.fix_only:
        return 0
    remaining = check_bytes(after, name, config)
    sys.stderr.write(RENDERERS["concise"](remaining.findings, {}, style.wanted(args.color, sys.stderr)))
    for error_line in remaining.errors:
        sys.stderr.write(f"cowlint: error: {error_line}\n")
    if remaining.errors:
        return 2
    return 1 if remaining.findings and not args.exit_zero else 0


def unified_diff(path: str, before: bytes, after: bytes) -> str:
    """The change from ``before`` to ``after`` of the file at ``path``, as ``diff -u`` shows it."""
    import difflib

    old, new = decode_source(before, path).text, decode_source(after, path).text
    before_name, after_name = (path, path) if os.path.isabs(path) else (f"a/{path}", f"b/{path}")  # git's a/ b/ on relative paths
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=before_name, tofile=after_name)
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n" for line in lines)


def add_noqa(findings: list[Finding]) -> tuple[int, list[str]]:
    """``--add-noqa``: each finding's code in a noqa comment on its line; (codes added, errors)."""
    from cowlint.engine.files.writing import ChangedWhileFixing, replace_file
    from cowlint.engine.module.noqa import with_noqa
    from cowlint.engine.source import UndecodableSource
    from cowlint.rules import ENGINE_CODES

    added, problems = 0, []
    for path in sorted({finding.path for finding in findings if finding.code not in ENGINE_CODES}):
        try:
            data = Path(path).read_bytes()
            source = decode_source(data, path)
            text, count = source.text, 0
            for finding in sorted({(f.line, f.code) for f in findings if f.path == path and f.code not in ENGINE_CODES}):
                changed = with_noqa(text, *finding)
                if changed is not None:
                    text, count = changed, count + 1
            if count:
                replace_file(Path(path), data, text.encode(source.encoding))
                added += count
        except ChangedWhileFixing:
            problems.append(f"{path}: changed while cowlint was writing it: left as it is now; run --add-noqa again")
        except (OSError, UndecodableSource) as error:
            problems.append(f"{path}: cannot add noqa comments, the file was left as it was: {getattr(error, 'strerror', None) or error}")
    return added, problems


def show_files(paths: list[str], config: Config, force_exclude: bool) -> str:
    """The files a check of ``paths`` reads, one per line."""
    from cowlint.engine.files.discovery import FileToCheck, discover

    if paths == ["-"]:
        return ""
    return "".join(f"{item.display}\n" for item in discover(paths, config, force_exclude=force_exclude) if isinstance(item, FileToCheck))


def _output_file(name: str) -> Any:
    """``--output-file``: the report's stream (its folder made if missing)."""
    path = Path(name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", encoding="utf-8", errors="backslashreplace")
    except OSError as error:
        raise UsageError(f"--output-file {name}: cannot write it: {error.strerror or error}") from None


def statistics(findings: list[Finding], config: Config, as_json: bool = False) -> str:
    """Counts per code, most frequent first, like ruff's --statistics (a JSON array with ``as_json``)."""
    import json

    from cowlint.engine.files.run import fixable

    counts = Counter(f.code for f in findings)
    fixes = Counter(f.code for f in findings if fixable(f, config))
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if as_json:
        rows = [{"code": code, "name": RULE_NAMES[code], "count": count, "fixable": fixes[code]} for code, count in ordered]
        return json.dumps(rows, indent=2) + "\n"
    width = len(str(max(counts.values(), default=0)))
    # as ruff's: ``[*]`` before the name of a rule with findings --fix can repair
    return "".join(f"{count:>{width}}\t{code}\t{'[*] ' if fixes[code] else ''}{RULE_NAMES[code]}\n" for code, count in ordered)


def summary(result: CheckResult, config: Config | None = None) -> str:
    """The closing line of a text report, and what --fix could do (as ruff's ``[*] N fixable``)."""
    from cowlint.engine.files.run import fixable

    files = f"{_plural(result.files_checked, 'file')} read, {result.files_parsed} parsed"
    if result.files_cached:
        files += f", {result.files_cached} unchanged since the last run"
    if not result.findings:
        return f"All checks passed ({files})."
    count = len(result.findings)
    with_files = len({f.path for f in result.findings})
    line = f"Found {_plural(count, 'finding')} in {_plural(with_files, 'file')} ({files})."
    safe = sum(1 for f in result.findings if fixable(f, config or Config()))
    hidden = sum(1 for f in result.findings if f.autofix is not None and not fixable(f, config or Config()))
    if safe:
        line += f"\n[*] {safe} fixable with --fix."
    if hidden:
        line += f"\n({hidden} more fixable with --fix --unsafe-fixes.)"
    return line


def fixed_summary(findings: list[Finding], config: Config, edits: list[tuple[str, bytes, bytes]], verb: str) -> str:
    """``--show-fixes``: each changed file with the findings its fixes repaired, per rule."""
    from cowlint.engine.files.run import fixable

    changed = {path for path, _, _ in edits}
    repaired = [f for f in findings if f.path in changed and fixable(f, config)]
    lines = [f"{verb} {_plural(len(repaired), 'finding')}:"]
    for path in sorted(changed):
        lines.append(f"- {path}:")
        counts = Counter((f.code, f.name) for f in repaired if f.path == path)
        lines.extend(f"    {count} × {code} ({name})" for (code, name), count in sorted(counts.items()))
    return "\n".join(lines) + "\n"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 clean, 1 findings, 2 errors)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:  # a file name that is not UTF-8 must not end the report
            reconfigure(errors="backslashreplace")
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader went away (``cowlint . | head -1``): stop quietly, as a Unix filter does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as error:  # noqa: BLE001 - a bug in cowlint is an error (2), never "findings" (1)
        from cowlint.engine.module.check import describe_error

        sys.stderr.write(f"cowlint: internal error, please report it: {describe_error(error)}\n")
        return 2


def _main(argv: Sequence[str] | None) -> int:
    from cowlint.verify import command as verify

    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["server"]:
        from cowlint.integrations.lsp import serve

        return serve(arguments[1:])
    if arguments[:1] == ["check"]:  # ruff's spelling: "cowlint check src/" is "cowlint src/" (a path named check: ./check)
        arguments = arguments[1:]
    parser = build_parser()
    own_args, script_args = verify.split_script_args(arguments)
    args = parser.parse_args(own_args)
    if args.output_format == "full":
        args.output_format = "text"
    out, err = sys.stdout, sys.stderr
    try:
        if args.verify or args.verify_module:
            return verify.run(args, script_args, resolve_config(args))
        given = verify.flags_given(args)
        if given:
            raise UsageError(f"{', '.join(given)}: only with --verify SCRIPT (the static check has no run to measure)")
        if args.explain:
            out.write(explain(args.explain))
            return 0
        if args.list_rules:
            out.write(list_rules())
            return 0
        config = resolve_config(args)
        if args.show_settings:
            out.write(show_settings(config))
            return 0
        paths = args.paths or (["-"] if args.stdin_filename else ["."])
        if "-" in paths and len(paths) > 1:
            raise UsageError("'-' (standard input) cannot be combined with other paths")
        if args.show_files:
            out.write(show_files(paths, config, args.force_exclude))
            return 0
        if paths == ["-"] and args.force_exclude and args.stdin_filename and config.is_excluded_anywhere(Path(args.stdin_filename)):
            return 0  # an editor pipes an excluded file: nothing to report, as ruff does
        if args.output_file:
            out = _output_file(args.output_file)
        use_prefilter = not args.no_prefilter
        fixing = args.fix or args.fix_only or args.diff
        if paths == ["-"]:
            if args.watch:
                raise UsageError("--watch watches files: it cannot be used with standard input")
            name = args.stdin_filename or "-"
            if fixing:
                return fix_stdin(name, config, args)
            result = run_stdin(name, config, use_prefilter)
        else:
            if args.jobs is not None and args.jobs < 1:
                raise UsageError("--jobs: expected a number of processes, 1 or more")
            jobs = args.jobs or os.cpu_count() or 1

            def run() -> CheckResult:
                cache = None if args.no_cache else Cache.for_run(config, use_prefilter)
                return check_paths(paths, config, use_prefilter=use_prefilter, force_exclude=args.force_exclude, jobs=jobs, cache=cache)

            if args.watch:
                if fixing or args.add_noqa:
                    raise UsageError("--watch reports; it does not combine with --fix, --fix-only, --diff or --add-noqa")
                return watch(paths, config, args, run, out, err)
            result = run()
            if args.add_noqa:
                added, problems = add_noqa(result.findings)
                for problem in problems:
                    err.write(f"cowlint: error: {problem}\n")
                err.write(f"cowlint: added {_plural(added, 'noqa directive')}\n")
                return 2 if problems or result.errors else 0
            if fixing:
                fixed, changed, problems, edits = fix_files(result.findings, config, write=not args.diff)
                for problem in problems:
                    err.write(f"cowlint: error: {problem}\n")
                if args.diff:
                    for path, before, after in edits:
                        out.write(unified_diff(path, before, after))
                    if edits:
                        err.write(f"cowlint: would fix {_plural(fixed, 'finding')} in {_plural(changed, 'file')}\n")
                    if args.show_fixes and edits:
                        err.write(fixed_summary(result.findings, config, edits, "Would fix"))
                    return 2 if problems else 1 if edits else 0
                if changed:
                    err.write(f"cowlint: fixed {_plural(fixed, 'finding')} in {_plural(changed, 'file')}\n")
                if args.show_fixes and edits:
                    err.write(fixed_summary(result.findings, config, edits, "Fixed"))
                if args.fix_only:
                    return 2 if problems or result.errors else 0
                if changed:
                    result = run()
                result.errors.extend(problems)
    except (ConfigError, UsageError) as error:
        err.write(f"cowlint: error: {error}\n")
        return 2
    except KeyboardInterrupt:
        err.write("cowlint: interrupted\n")
        return 130
    status = emit(result, args, config, paths, out, err)
    if out is not sys.stdout:
        out.close()
    return status


# the formats read by people, which end with the summary line (concise stays one finding per line, for tools)
SUMMARY_FORMATS = ("text", "full", "grouped")


def emit(result: CheckResult, args: argparse.Namespace, config: Config, paths: list[str], out: Any, err: Any) -> int:
    """Write one run's warnings, errors and report; its exit status."""
    if result.files_checked == 0 and not result.findings and paths != ["-"] and not args.force_exclude:
        result.warnings.append(f"no Python files found under {' '.join(paths)}")
    for warning in result.warnings:
        err.write(f"cowlint: warning: {warning}\n")
    for error_line in result.errors:
        err.write(f"cowlint: error: {error_line}\n")
    if args.statistics:
        rendered = statistics(result.findings, config, as_json=args.output_format == "json")
    else:
        rendered = RENDERERS[args.output_format](result.findings, result.sources, style.wanted(args.color, out))
    out.write(rendered)
    if args.output_format in SUMMARY_FORMATS and not args.quiet:
        out.write(("\n" if result.findings else "") + summary(result, config) + "\n")
    out.flush()
    if result.errors:
        return 2
    return 1 if result.findings and not args.exit_zero else 0


def watch(paths: list[str], config: Config, args: argparse.Namespace, run: Any, out: Any, err: Any, interval: float = 0.5) -> int:
    """``--watch``: check, then check again whenever a Python file or a configuration file under
    ``paths`` changes (polled: no extra dependency), until interrupted."""
    import time

    from cowlint.engine.files.discovery import FileToCheck, discover

    def stamps() -> dict[str, tuple[int, int]]:
        seen = {}
        candidates = [item.path for item in discover(paths, config, force_exclude=args.force_exclude) if isinstance(item, FileToCheck)]
        candidates += [Path(path) / name for path in paths for name in ("pyproject.toml", "setup.cfg")]
        for path in candidates:
            try:
                stat = path.stat()
            except OSError:
                continue
            seen[str(path)] = (stat.st_mtime_ns, stat.st_size)
        return seen

    try:
        while True:
            before = stamps()
            emit(run(), args, config, paths, out, err)
            err.write(f"cowlint: watching {_plural(len(before), 'file')} for changes (Ctrl-C stops)\n")
            err.flush()
            while stamps() == before:
                time.sleep(interval)
            out.write("\n")
    except KeyboardInterrupt:
        return 0


