"""``cowlint --verify``: the command-line side of the verifier."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from cowlint.config import Config, ConfigError, parse_size
from cowlint.engine.files.run import check_paths
from cowlint.engine.finding import Finding
from cowlint.verify import harness, render
from cowlint.verify.report import Report, join, library_path, view

VARIANT_NAMES = ("freeze", "spawn", "forkserver")
EXIT_SCRIPT_FAILED = 3
EXIT_INTERRUPTED = 130

HELP = """\
Runs the named script; nothing else in cowlint executes code. The script runs
as __main__ in a child interpreter with a probe that counts the bytes pickled
per call site and records every fork, while cowlint samples every process of
the run (/proc/PID/smaps_rollup, psutil) and reports what each worker copied.
The script's own output goes to standard error; standard output carries only
the report. Exit status with --verify: 0 ran to the end, 1 a worker copied
more than --fail-over, 3 the script failed, hung or was stopped (the report
says how), 130 interrupted. More: docs/verify.md."""


def flags_given(args: argparse.Namespace) -> list[str]:
    """The verifier's own flags set away from their defaults (given without --verify, they would do nothing)."""
    alone = argparse.ArgumentParser(add_help=False)
    add_arguments(alone)
    defaults = vars(alone.parse_args([]))
    return [f"--{name.replace('_', '-')}" for name, default in defaults.items() if name not in ("verify", "verify_module") and getattr(args, name) != default]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The verifier's flags, in their own help section."""
    group = parser.add_argument_group("dynamic verifier (--verify)", HELP)
    group.add_argument("--verify", metavar="SCRIPT", help="run SCRIPT (arguments after --) under the probe and report what each call site pickled and each worker copied")
    group.add_argument("--verify-module", metavar="MODULE", help="the same for 'python -m MODULE'")
    group.add_argument("--compare", metavar="VARIANTS", help="run again with each variant and compare: freeze (gc.freeze() before every fork), spawn, forkserver (forced default start method), or all")
    group.add_argument("--min-cost", metavar="SIZE", default="1MiB", help="a static finding counts as confirmed when its measured cost reaches this (default 1MiB)")
    group.add_argument("--fail-over", metavar="SIZE", help="exit 1 when any worker copied more than SIZE (for CI)")
    group.add_argument("--report", metavar="HTML", help="also write a self-contained HTML report: sortable tables, a chart of each worker's memory per run, the copied objects per worker")
    group.add_argument("--timeout", metavar="SECONDS", type=float, default=300.0, help="kill the whole run after this long (default 300)")
    group.add_argument("--max-processes", metavar="N", type=int, default=64, help="kill the run when it has more processes than this at once (default 64)")
    group.add_argument("--interpreter", metavar="PYTHON", default=sys.executable, help="the Python that runs the script (default: the one running cowlint)")
    group.add_argument(
        "--no-objects",
        action="store_true",
        help="do not map the parent's module-level objects at each fork (a walk of ~1 s per million objects) nor report which of them each worker copied",
    )
    group.add_argument(
        "--trace-allocations",
        action="store_true",
        help="trace the script's allocations (tracemalloc) until its first fork, so that each copied object is listed with the line that built it, "
        "not the line that names it (costly until then: 17x the time and 2.4x the memory of a script building 5 million strings)",
    )
    group.add_argument("--sample-interval", metavar="SECONDS", type=float, default=0.02, help="how often every process's memory is read (default 0.02)")


def split_script_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """cowlint's own arguments, and the script's (everything after the first ``--``)."""
    if "--" in argv and any(arg.split("=")[0] in ("--verify", "--verify-module") for arg in argv[: argv.index("--")]):
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1 :]
    return argv, []


def parse_compare(value: str | None) -> list[str]:
    if not value:
        return []
    names: list[str] = []
    for part in value.split(","):
        name = part.strip().lower()
        if name == "all":
            names.extend(VARIANT_NAMES)
        elif name in VARIANT_NAMES:
            names.append(name)
        elif name:
            raise ConfigError(f"--compare: unknown variant {part.strip()!r}; choose among {', '.join(VARIANT_NAMES)} or all")
    return list(dict.fromkeys(names))


def check_interpreter(interpreter: str) -> None:
    """The probe needs Python 3.8 or later (it uses only the standard library)."""
    import subprocess

    try:
        done = subprocess.run([interpreter, "-c", "import sys; print(sys.version_info >= (3, 8))"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ConfigError(f"--interpreter {interpreter}: cannot run it ({error})") from None
    if done.stdout.strip() != "True":
        raise ConfigError(f"--interpreter {interpreter}: the probe needs Python 3.8 or later")


def module_path(module: str, cwd: Path) -> Path | None:
    """The file ``python -m module`` would run from ``cwd``, found without importing anything."""
    base = cwd.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__main__.py"):
        if candidate.is_file():
            return candidate
    return None


def static_findings(files: list[str], config: Config) -> list[Finding]:
    """The engine's findings on the script and on the user's files the run dispatched from."""
    existing = sorted({os.path.realpath(path) for path in files if os.path.isfile(path)})
    if not existing:
        return []
    return check_paths(existing, config, jobs=1, cache=None).findings


class _Interrupted(KeyboardInterrupt):
    pass


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted()


def run(args: argparse.Namespace, script_args: list[str], config: Config) -> int:
    """Run the script (and its variants), join with the static findings, print the report."""
    if args.verify and args.verify_module:
        raise ConfigError("--verify and --verify-module: choose one")
    if args.fix or args.fix_only or args.diff:
        raise ConfigError("--fix, --fix-only and --diff work on the static findings; they do not combine with --verify (run cowlint --fix first)")
    module = bool(args.verify_module)
    target: str = args.verify_module or args.verify
    if args.paths:
        raise ConfigError(f"--verify takes one script; put the script's own arguments after --: cowlint --verify {target} -- {' '.join(args.paths)}")
    if args.output_format not in ("text", "json"):
        raise ConfigError(f"--output-format {args.output_format}: --verify prints text or json")
    if not module and Path(target).is_dir():
        raise ConfigError(f"--verify {target}: is a directory; name the script to run (or use --verify-module for a package's __main__)")
    if not module and not Path(target).is_file():
        raise ConfigError(f"--verify {target}: no such file")
    if args.report and not Path(args.report).resolve().parent.is_dir():
        raise ConfigError(f"--report {args.report}: its folder does not exist")
    if args.interpreter != sys.executable:
        check_interpreter(args.interpreter)
    if args.timeout <= 0 or args.max_processes < 1 or args.sample_interval <= 0:
        raise ConfigError("--timeout, --max-processes and --sample-interval must be positive")
    variants = parse_compare(args.compare)
    min_cost = parse_size(args.min_cost)
    fail_over = parse_size(args.fail_over) if args.fail_over else None
    err = sys.stderr
    tty = err.isatty()

    def progress(line: str) -> None:
        err.write(f"\r\033[Kcowlint: {line}")
        err.flush()

    options = harness.Options(
        timeout=args.timeout, max_processes=args.max_processes, interval=args.sample_interval, interpreter=args.interpreter,
        objects=not args.no_objects, trace_allocations=args.trace_allocations, progress=progress if tty else None,
    )
    # SIGTERM, and SIGHUP when the terminal closes, end the run the way Ctrl-C does: cleanly
    previous = {number: signal.signal(number, _on_term) for name in ("SIGTERM", "SIGHUP") if (number := getattr(signal, name, None)) is not None}
    runs: dict[str, harness.RunResult] = {}
    try:
        for number, name in enumerate(["baseline", *variants], start=1):
            if not tty:
                err.write(f"cowlint: run {number}/{1 + len(variants)}: {name}\n")
                err.flush()
            options.echo = name == "baseline"
            result = harness.run(target, script_args, name, options, module=module)
            if tty:
                err.write("\r\033[K")
            runs[name] = result
            if result.status == "interrupted":
                break
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    baseline = view(runs.pop("baseline"))
    views = {name: view(result) for name, result in runs.items()}
    files = [str(module_path(target, Path.cwd()) or "") if module else target]
    files += [site.path for site in baseline.sites if not library_path(site.path)]
    files += [site.callable_path for site in baseline.sites if site.callable_path]
    report = join(baseline, views, static_findings(files, config), min_cost, fail_over, f"-m {target}" if module else target)
    output = render.to_json(report) if args.output_format == "json" else render.text(report)
    sys.stdout.write(output)
    sys.stdout.flush()
    if args.report:
        try:
            Path(args.report).write_text(render.html_page(report), encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"--report {args.report}: {error.strerror or error}") from None
    return exit_status(report)


def exit_status(report: Report) -> int:
    statuses = [report.baseline.result.status, *(run.result.status for run in report.variants.values())]
    if "interrupted" in statuses:
        return EXIT_INTERRUPTED
    if report.baseline.result.status != "ok":
        return EXIT_SCRIPT_FAILED
    return 1 if report.over_limit() else 0
