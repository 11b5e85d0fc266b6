"""``[tool.cowlint]`` in ``pyproject.toml`` and command-line flags, turned into one frozen Config.

Configuration is data only: nothing here can name code to import or run.
"""

from __future__ import annotations

import fnmatch
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

MIB = 1024 * 1024
DEFAULT_LARGE_THRESHOLD = MIB
# libcst holds ~1,000 bytes of memory per byte of source while parsing (a 2 MB file
# took 2.1 GB): bigger files are reported as not checked instead of risking the run.
DEFAULT_MAX_FILE_SIZE = 2 * MIB
# a module whose analysis takes longer is reported (COW901) instead of stalling the run
DEFAULT_MAX_ANALYSIS_SECONDS = 60.0
MAX_SIZE = 1 << 60  # sizes beyond an exbibyte are typos, and float() of them overflows
KNOWN_PLATFORMS = ("linux", "macos", "windows")
DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".eggs",
    "build",
    "dist",
    "__pycache__",
    "node_modules",
    "site-packages",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".cowlint_cache",
)


class ConfigError(Exception):
    """A configuration or usage error; the CLI exits 2 with this one-line reason."""


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
_UNIT = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kib": 1024,
    "kb": 1000,
    "ki": 1024,
    "m": MIB,
    "mib": MIB,
    "mb": 1000**2,
    "mi": MIB,
    "g": 1024**3,
    "gib": 1024**3,
    "gb": 1000**3,
    "gi": 1024**3,
    "t": 1024**4,
    "tib": 1024**4,
    "tb": 1000**4,
    "ti": 1024**4,
}


def parse_size(text: str | int) -> int:
    """Parse ``1048576``, ``1MiB``, ``512 KiB``, ``2MB`` or ``1.5GiB`` into bytes.

    Binary units (KiB, MiB, GiB; bare K, M, G) are powers of 1024, decimal units
    (KB, MB, GB) powers of 1000, so a written size means exactly one number.
    """
    if isinstance(text, bool):
        raise ConfigError(f"invalid size {text!r}: expected a number of bytes or e.g. '1MiB'")
    if isinstance(text, int):
        if text < 0:
            raise ConfigError(f"invalid size {text!r}: must not be negative")
        return text
    match = _SIZE_RE.match(str(text))
    if not match:
        raise ConfigError(f"invalid size {text!r}: expected a number of bytes or e.g. '1MiB', '512KiB', '2GB'")
    number, unit = match.group(1), (match.group(2) or "").lower()
    size = float(number) * _UNIT[unit]
    if size > MAX_SIZE:
        raise ConfigError(f"invalid size {text!r}: larger than {format_size(MAX_SIZE)}")
    return int(size)


def format_size(size: int) -> str:
    """Render bytes in binary units with one decimal: ``762.9 MiB``."""
    if size >= 1 << 80:
        return f"~2^{size.bit_length() - 1} B"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Argument:
    """Where a declared API takes one of its arguments: a position, a keyword, or both."""

    position: int | None
    keyword: str | None


@dataclass(frozen=True)
class DispatchApi:
    """A project's own pool wrapper or process-starting helper, declared in ``[tool.cowlint]
    extra-dispatch-apis`` by qualified name (never imported): what each call of it sends.

    ``kind``: ``map`` (the function with every task, each item of ``items`` once), ``call``
    (the function and ``args`` with this call, one task), ``process`` (a process started with the
    function as its target and ``args``). ``start``: the start method its processes use, when it
    pins one; None for the platform's default (or the project's pin)."""

    qualname: str
    kind: str
    function: Argument | None
    items: Argument | None
    args: Argument | None
    start: str | None = None

    def toml(self) -> str:
        """The declaration as ``[tool.cowlint] extra-dispatch-apis`` spells it (an inline table)."""

        def spelled(where: Argument) -> str:
            if where.position is not None and where.keyword is not None:
                return f'[{where.position}, "{where.keyword}"]'
            return str(where.position) if where.position is not None else f'"{where.keyword}"'

        parts = [f'kind = "{self.kind}"']
        parts.extend(f"{role} = {spelled(where)}" for role, where in (("function", self.function), ("items", self.items), ("args", self.args)) if where is not None)
        if self.start is not None:
            parts.append(f'start-method = "{self.start}"')
        return f'"{self.qualname}" = {{ {", ".join(parts)} }}'


DISPATCH_API_KINDS = ("map", "call", "process")
_DISPATCH_API_KEYS = ("kind", "function", "items", "args", "start-method")


@dataclass(frozen=True)
class Config:
    """Everything that changes what cowlint reports. Frozen: one per run."""

    select: tuple[str, ...] = ("COW",)
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    large_threshold: int = DEFAULT_LARGE_THRESHOLD
    platforms: tuple[str, ...] = KNOWN_PLATFORMS
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_analysis_seconds: float = DEFAULT_MAX_ANALYSIS_SECONDS  # one module's analysis; past it, COW901
    python: str | None = None  # targeted Python versions (a requires-python specifier); None: every version
    extra_dispatch_apis: tuple[DispatchApi, ...] = ()  # the project's own pool wrappers, by qualified name
    unsafe_fixes: bool = field(default=False, compare=False)  # --fix applies unsafe fixes too (not a finding's input)
    respect_gitignore: bool = field(default=True, compare=False)  # a walk skips what .gitignore ignores (which files, not what is found in one)
    root: Path | None = field(default=None, compare=False)
    source: Path | None = field(default=None, compare=False)

    def with_overrides(self, **changes: Any) -> Config:
        """A copy with some fields replaced (command-line flags win over the file)."""
        return replace(self, **changes)

    def rule_enabled(self, code: str) -> bool:
        """Whether ``code`` is selected and not ignored; the longest matching prefix wins."""
        return _selected(code, self.select, self.ignore)

    def ignored_for_path(self, code: str, path: str) -> bool:
        """Whether ``per-file-ignores`` drops ``code`` for ``path``."""
        if not self.per_file_ignores:
            return False
        candidates = _relative_forms(path, self.root)
        for pattern, codes in self.per_file_ignores:
            if any(_glob_match(form, pattern) for form in candidates):
                if any(code.startswith(prefix) or prefix == "ALL" for prefix in codes):
                    return True
        return False

    def is_excluded_anywhere(self, path: Path) -> bool:
        """Whether ``path`` or any folder above it (up to the project root) is excluded."""
        try:
            resolved = path.resolve()
        except OSError:
            resolved = path.absolute()
        root = self.root.resolve() if self.root is not None else None
        candidates = [resolved, *resolved.parents]
        if root is not None and root in candidates:
            candidates = candidates[: candidates.index(root)]
        return any(self.is_excluded(candidate) for candidate in candidates)

    def is_excluded(self, path: Path) -> bool:
        """Whether a discovered path matches the default or configured exclude patterns."""
        name = path.name
        if name in DEFAULT_EXCLUDE:
            return True
        for pattern in self.exclude:
            pattern = pattern.rstrip("/")
            if "/" not in pattern:
                # a bare name matches the entry itself; its ancestors were matched when walked
                if fnmatch.fnmatchcase(name, pattern):
                    return True
            elif any(_glob_match(form, pattern) for form in _relative_forms(str(path), self.root)):
                return True
        return False


def _selected(code: str, select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    def best(prefixes: tuple[str, ...]) -> int:
        lengths = [0 if p == "ALL" else len(p) for p in prefixes if p == "ALL" or code.startswith(p)]
        return max(lengths, default=-1)

    chosen, dropped = best(select), best(ignore)
    return chosen >= 0 and chosen > dropped


def _relative_forms(path: str, root: Path | None) -> list[str]:
    forms = [path.replace("\\", "/")]
    if root is not None:
        try:
            forms.append(Path(path).resolve().relative_to(root.resolve()).as_posix())
        except (ValueError, OSError):
            pass
    return forms


def _glob_match(path: str, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    if fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern + "/*"):
        return True
    # a bare pattern without a slash matches any path component, like .gitignore
    if "/" not in pattern:
        return any(fnmatch.fnmatchcase(part, pattern) for part in path.split("/"))
    return False


# ---------------------------------------------------------------- Python versions

# Python 3 minor versions a specifier is tested against.
_MINORS = range(8, 40)  # 3.8 (macOS's switch to spawn) and later
_SPEC = re.compile(r"^\s*(~=|===|==|!=|<=|>=|<|>)?\s*v?(\d+(?:\.\d+)*)(\.\*)?\s*$")


def _padded(parts: tuple[int, ...], length: int = 3) -> tuple[int, ...]:
    return (parts + (0,) * length)[:length]


def _satisfies(version: tuple[int, int, int], clause: tuple[str, tuple[int, ...], bool]) -> bool:
    op, target, wildcard = clause
    if wildcard:  # ==3.12.* / !=3.12.*: a prefix match
        match = version[: len(target)] == target
        return match if op == "==" else not match
    if op == "~=":
        prefix = target[:-1]
        return version >= _padded(target) and version[: len(prefix)] == prefix
    padded = _padded(target)
    return {
        "==": version == padded,
        "===": version == padded,
        "!=": version != padded,
        "<": version < padded,
        "<=": version <= padded,
        ">": version > padded,
        ">=": version >= padded,
    }[op]


def parse_python_spec(text: str) -> tuple[tuple[str, tuple[int, ...], bool], ...]:
    """``>=3.10,<3.14`` -> clauses; a bare version ``3.12`` means ``==3.12.*``. Raises ConfigError."""
    clauses = []
    for raw in text.split(","):
        if not raw.strip():
            continue
        match = _SPEC.match(raw)
        if match is None:
            raise ConfigError(f"invalid Python version specifier {raw.strip()!r}: expected e.g. '>=3.10,<3.14' or '3.12'")
        op, version, wildcard = match.group(1), tuple(int(part) for part in match.group(2).split(".")), bool(match.group(3))
        if op is None:
            op, wildcard = "==", True
        if op == "~=" and len(version) < 2:
            raise ConfigError(f"invalid Python version specifier {raw.strip()!r}: '~=' needs at least two version parts")
        if wildcard and op not in ("==", "!="):
            raise ConfigError(f"invalid Python version specifier {raw.strip()!r}: '.*' only goes with == and !=")
        clauses.append((op, version, wildcard))
    if not clauses:
        raise ConfigError("empty Python version specifier: expected e.g. '>=3.10,<3.14' or '3.12'")
    return tuple(clauses)


@lru_cache(maxsize=64)
def python_minors(spec: str | None) -> tuple[tuple[int, int], ...]:
    """The Python 3 minor versions a specifier admits (all of them when ``spec`` is None)."""
    if spec is None:
        return tuple((3, minor) for minor in _MINORS)
    clauses = parse_python_spec(spec)
    admitted = []
    # a minor is admitted when one of its releases satisfies every clause: the first, a late
    # one, and those the clauses name (==3.11.4, <3.12.2)
    patches = {0, 50} | {part for _, version, _ in clauses if len(version) > 2 for part in (version[2] - 1, version[2], version[2] + 1) if part >= 0}
    for minor in _MINORS:
        if any(all(_satisfies((3, minor, patch), clause) for clause in clauses) for patch in patches):
            admitted.append((3, minor))
    return tuple(admitted)


# ---------------------------------------------------------------- loading

_CODE_RE = re.compile(r"^(ALL|COW\d{0,3})$")


def parse_codes(key: str, value: object) -> tuple[str, ...]:
    """Rule codes or prefixes (``COW101``, ``COW1``, ``ALL``); each must name at least one rule."""
    from cowlint.rules import RULE_NAMES

    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of rule codes such as [\"COW101\", \"COW1\"]")
    codes = tuple(v.strip().upper() for v in value)
    if not codes:
        raise ConfigError(f"{key}: no rule codes given (e.g. COW101, COW1, ALL)")
    for code in codes:
        if not _CODE_RE.match(code):
            raise ConfigError(f"{key}: {code!r} is not a rule code or prefix (e.g. COW101, COW1, ALL)")
        if code != "ALL" and not any(known.startswith(code) for known in RULE_NAMES):
            raise ConfigError(f"{key}: {code!r} matches no rule; known rules: {', '.join(RULE_NAMES)}")
    return codes


def _boolean(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _strings(key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of strings")
    return tuple(value)


def parse_platforms(key: str, value: object) -> tuple[str, ...]:
    """Validate a platform list (``linux``, ``macos``, ``windows``)."""
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a non-empty list drawn from {', '.join(KNOWN_PLATFORMS)}")
    aliases = {"darwin": "macos", "osx": "macos", "win32": "windows", "win": "windows"}
    result = []
    for item in value:
        name = aliases.get(item.lower(), item.lower())
        if name not in KNOWN_PLATFORMS:
            raise ConfigError(f"{key}: unknown platform {item!r}; expected one of {', '.join(KNOWN_PLATFORMS)}")
        if name not in result:
            result.append(name)
    return tuple(result)


def config_from_table(
    table: Mapping[str, object], *, root: Path | None = None, source: Path | None = None, base: Config | None = None, where: str | None = None
) -> Config:
    """Build a Config from a ``[tool.cowlint]`` table; unknown keys and bad values raise ConfigError
    (naming ``where`` the table was read, by default the ``[tool.cowlint]`` of ``source``)."""
    config = base or Config()
    changes: dict[str, Any] = {}
    extended: dict[str, tuple[str, ...]] = {}
    if where is None:
        where = f"{source}: [tool.cowlint]" if source else "[tool.cowlint]"
    for key, value in table.items():
        label = f"{where} {key}"
        if key in EXTENDING:
            field_name, parse = CONFIG_KEYS[EXTENDING[key]]
            extended[field_name] = parse(label, value)
            continue
        if key not in CONFIG_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}; known keys: {', '.join([*CONFIG_KEYS, *EXTENDING])}")
        field_name, parse = CONFIG_KEYS[key]
        changes[field_name] = parse(label, value)
    for field_name, more in extended.items():  # after the list they extend, wherever it was written
        changes[field_name] = tuple(changes.get(field_name, getattr(config, field_name))) + more
    return replace(config, root=root, source=source, **changes)


def _argument(label: str, value: object) -> Argument:
    """``0`` (a position), ``"fn"`` (a keyword) or ``[0, "fn"]`` (either)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return Argument(value, None)
    if isinstance(value, str) and value.isidentifier():
        return Argument(None, value)
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and not isinstance(value[0], bool) and value[0] >= 0:
        if isinstance(value[1], str) and value[1].isidentifier():
            return Argument(value[0], value[1])
    raise ConfigError(f"{label}: expected a position (0), a keyword (\"fn\") or both ([0, \"fn\"]), not {value!r}")


def _dispatch_apis(label: str, value: object) -> tuple[DispatchApi, ...]:
    """``extra-dispatch-apis``: a table of qualified name = { kind, function, items, args, start-method }."""
    if not isinstance(value, dict):
        raise ConfigError(f'{label}: expected a table such as {{ "shop.parallel.run_all" = {{ kind = "map", function = 0, items = 1 }} }}')
    found = []
    for qualname, spec in value.items():
        where = f"{label}.{qualname}"
        if not all(part.isidentifier() for part in str(qualname).split(".")) or "." not in str(qualname):
            raise ConfigError(f"{where}: expected a qualified name such as shop.parallel.run_all")
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a table such as {{ kind = \"map\", function = 0, items = 1 }}")
        unknown = sorted(set(spec) - set(_DISPATCH_API_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(_DISPATCH_API_KEYS)}")
        kind = spec.get("kind", "map")
        if kind not in DISPATCH_API_KINDS:
            raise ConfigError(f"{where}.kind: expected one of {', '.join(DISPATCH_API_KINDS)}, not {kind!r}")
        start = spec.get("start-method")
        if start is not None and start not in ("fork", "spawn", "forkserver"):
            raise ConfigError(f"{where}.start-method: expected fork, spawn or forkserver, not {start!r}")
        roles = {role: _argument(f"{where}.{role}", spec[role]) if role in spec else None for role in ("function", "items", "args")}
        if roles["function"] is None:
            raise ConfigError(f"{where}: says nothing of the function it sends (function = 0, or a keyword)")
        if kind != "map" and roles["items"] is not None:
            raise ConfigError(f"{where}.items: only a map sends items (kind = \"map\")")
        found.append(DispatchApi(str(qualname), kind, roles["function"], roles["items"], roles["args"], start))
    return tuple(found)


def parse_target_version(label: str, value: object) -> str:
    """ruff's ``target-version`` (``py310``): the oldest Python the code runs on, as ``>=3.10``."""
    match = re.fullmatch(r"py3(\d{1,2})", value.strip().lower()) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"{label}: expected a version such as py310 or py314, not {value!r}")
    return parse_python(label, f">=3.{int(match.group(1))}")


def _size_setting(label: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(f"{label}: expected a size such as 1048576 or \"1MiB\"")
    try:
        return parse_size(value)
    except ConfigError as error:
        raise ConfigError(f"{label}: {error}") from None


def _per_file_ignores(label: str, value: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: expected a table of glob = [codes]")
    return tuple((str(pattern), parse_codes(f"{label}.{pattern}", codes)) for pattern, codes in value.items())


def parse_seconds(label: str, value: object) -> float:
    """A positive number of seconds (``60``, ``2.5``, ``"90"``)."""
    try:
        seconds = float(value) if not isinstance(value, bool) and isinstance(value, (int, float, str)) else math.nan
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        raise ConfigError(f"{label}: expected a positive number of seconds, such as 60, not {value!r}")
    return seconds


def parse_python(label: str, value: object) -> str:
    """A requires-python specifier (``>=3.10,<3.14``) or a version (``3.12``) that admits some Python 3."""
    if not isinstance(value, str):
        raise ConfigError(f"{label}: expected a Python version specifier such as \">=3.10,<3.14\" or \"3.12\"")
    try:
        admitted = python_minors(value.strip())
    except ConfigError as error:
        raise ConfigError(f"{label}: {error}") from None
    if not admitted:
        raise ConfigError(f"{label}: {value!r} admits no Python version from 3.8 on")
    return value.strip()


# [tool.cowlint] key -> (Config field, parser)
CONFIG_KEYS: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "select": ("select", parse_codes),
    "ignore": ("ignore", parse_codes),
    "per-file-ignores": ("per_file_ignores", _per_file_ignores),
    "exclude": ("exclude", _strings),
    "large-threshold": ("large_threshold", _size_setting),
    "max-file-size": ("max_file_size", _size_setting),
    "max-analysis-seconds": ("max_analysis_seconds", parse_seconds),
    "platforms": ("platforms", parse_platforms),
    "python": ("python", parse_python),
    "unsafe-fixes": ("unsafe_fixes", _boolean),
    "respect-gitignore": ("respect_gitignore", _boolean),
    "target-version": ("python", parse_target_version),
    "extra-dispatch-apis": ("extra_dispatch_apis", _dispatch_apis),
}
# keys that add to another key's list (as ruff's extend-select) instead of replacing it
EXTENDING = {"extend-select": "select", "extend-ignore": "ignore", "extend-exclude": "exclude"}


def _pyprojects_mentioning(start: Path, needle: bytes) -> Iterator[tuple[Path, bytes]]:
    """``pyproject.toml`` files at or above ``start`` whose text contains ``needle``, nearest first."""
    try:
        current = start.resolve()
    except OSError:
        return
    if current.is_file():
        current = current.parent
    for directory in (current, *current.parents):
        candidate = directory / "pyproject.toml"
        try:
            if candidate.is_file():
                data = candidate.read_bytes()
                if needle in data:
                    yield candidate, data
        except OSError:
            continue


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` that has a ``[tool.cowlint]`` table."""
    return next((path for path, _ in _pyprojects_mentioning(start, b"[tool.cowlint")), None)


def load_config(path: Path | None, *, base: Config | None = None) -> Config:
    """Read ``[tool.cowlint]`` from ``path`` (a pyproject.toml); no path means defaults."""
    if path is None:
        return base or Config()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    table = data.get("tool", {}).get("cowlint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.cowlint] must be a table")
    config = config_from_table(table, root=path.parent, source=path, base=base)
    requires = _requires_python(data, path)
    return config.with_overrides(python=requires) if requires is not None and "python" not in table else config


def _requires_python(data: Mapping[str, Any], path: Path) -> str | None:
    project = data.get("project")
    value = project.get("requires-python") if isinstance(project, dict) else None
    return parse_python(f"{path}: [project] requires-python", value) if value is not None else None


def find_requires_python(start: Path) -> str | None:
    """``[project] requires-python`` of the nearest pyproject.toml at or above ``start`` that has one."""
    for path, data in _pyprojects_mentioning(start, b"requires-python"):
        try:
            found = _requires_python(tomllib.loads(data.decode("utf-8")), path)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if found is not None:
            return found
    return None


def project_config(start: Path) -> Config:
    """The configuration for files at ``start``: the nearest ``[tool.cowlint]``, and the targeted
    Python versions from it or from the nearest ``requires-python``."""
    config = load_config(find_pyproject(start))
    if config.python is None:
        requires = find_requires_python(start)
        if requires is not None:
            config = config.with_overrides(python=requires)
    return config


# ---------------------------------------------------------------- per-file header

_HEADER = re.compile(rb"^#\s*cowlint:\s*(?P<settings>.*?)\s*$")
_DOCSTRING = re.compile(rb"^[rRuU]?(?P<quotes>\"\"\"|\'\'\')")
_HEADER_KEYS = {
    "large-threshold": "large-threshold",
    "platforms": "platforms",
    "max-file-size": "max-file-size",
    "max-analysis-seconds": "max-analysis-seconds",
    "python": "python",
}


def with_file_header(config: Config, data: bytes) -> Config:
    """Apply a ``# cowlint: platforms=linux large-threshold=100MiB`` header comment.

    The header must be among the comment lines at the top of the file, before or after the
    module docstring. It is data only, like ``[tool.cowlint]``, and accepts the same keys for
    one file.
    """
    if b"cowlint:" not in data[:4096]:
        return config
    table: dict[str, object] = {}
    closing: bytes | None = None  # inside the docstring: the quotes that end it
    docstring_seen = False
    lines = data[:4096].splitlines()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if closing is not None:
            if closing in line:
                closing = None
            continue
        if not line:
            continue
        opening = _DOCSTRING.match(line)
        if opening is not None and not docstring_seen:
            docstring_seen = True
            quotes = opening.group("quotes")
            if line.count(quotes) < 2 or line == quotes:  # the docstring goes on below
                closing = quotes
            continue
        if not line.startswith(b"#"):
            late = next((later for later, text in enumerate(lines[number:], start=number + 1) if _HEADER.match(text.strip())), None)
            if late is not None:
                raise ConfigError(f"'# cowlint:' header on line {late} comes after the code starts (line {number}): move it above the first statement")
            break
        match = _HEADER.match(line)
        if match is None:
            continue
        for item in match.group("settings").decode("utf-8", "replace").split():
            key, sep, value = item.partition("=")
            if not sep or key not in _HEADER_KEYS:
                raise ConfigError(f"'# cowlint:' header: expected key=value with a key among {', '.join(_HEADER_KEYS)}, got {item!r}")
            table[_HEADER_KEYS[key]] = value.split(",") if key == "platforms" else value
    if not table:
        return config
    return config_from_table(table, root=config.root, source=config.source, base=config, where="'# cowlint:' header")
