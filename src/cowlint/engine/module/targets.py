"""Which start method governs a dispatch on each platform and Python version the project targets.

The default start method is ``spawn`` on Windows, ``spawn`` on macOS (since
Python 3.8, the oldest version cowlint targets), ``fork`` on Linux before Python 3.14 and ``forkserver`` from 3.14.
The targets are ``platforms`` (``[tool.cowlint]``, ``--platforms``) and the
Python versions of ``requires-python`` (or ``--python``). A dispatch whose start
method is pinned (``get_context("fork")``, ``set_start_method("spawn")``...)
starts the same way everywhere; an unpinned one forks on some targets and not
on others, and the COW2xx messages name both.

A fork server of Python 3.14 or later imports the main script once, before it forks the
workers (its ``set_forkserver_preload`` default, ``["__main__"]``, took effect only from 3.14:
before, the main module's path never reached the server), so its workers inherit the main
script's import-time state instead of re-importing it; measured by ``tests/test_start_methods.py``.
A script run with ``python -m`` is not preloaded, on any version.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cowlint.config import Config, python_minors
from cowlint.engine.module.values import StartMethod

FORKSERVER_DEFAULT = (3, 14)  # Linux's default start method is forkserver from this version
FORKSERVER_PRELOADS_MAIN = (3, 14)  # the fork server imports the main script before it forks, from this version


@dataclass(frozen=True)
class Target:
    """A platform over a range of Python versions, with its default start method."""

    label: str
    default: str  # the start method there: the platform's default, or the pin that holds there
    platform: str = ""  # ``linux``, ``macos`` or ``windows``
    # a fork server that imported the main script before it forked the workers (Python >= 3.14):
    # they inherit its import-time state, as forked workers do, instead of importing it anew
    preloaded: bool = False


def _version_range(minors: tuple[tuple[int, int], ...], low: tuple[int, int] | None, high: tuple[int, int] | None) -> tuple[tuple[int, int], ...]:
    return tuple(v for v in minors if (low is None or v >= low) and (high is None or v < high))


@lru_cache(maxsize=64)
def default_targets(platforms: tuple[str, ...], python: str | None) -> tuple[Target, ...]:
    """Every targeted (platform, versions) with its default start method."""
    minors = python_minors(python)
    targets = []
    if "macos" in platforms:
        targets.append(Target("macOS", "spawn", "macos"))  # since Python 3.8, the oldest version targeted
    if "windows" in platforms:
        targets.append(Target("Windows", "spawn", "windows"))
    if "linux" in platforms:
        before, after = _version_range(minors, None, FORKSERVER_DEFAULT), _version_range(minors, FORKSERVER_DEFAULT, None)
        if after:
            targets.append(Target("Linux" if not before else "Linux with Python >= 3.14", "forkserver", "linux", preloaded=True))  # 3.14 on: preloads
        if before:
            targets.append(Target("Linux" if not after else "Linux with Python < 3.14", "fork", "linux"))
    return tuple(targets)


@dataclass(frozen=True)
class StartVerdict:
    """How the workers of one dispatch start, on every target."""

    start: StartMethod
    forks: tuple[Target, ...]  # targets on which the workers are forked
    other: tuple[Target, ...]  # targets on which they are spawned or forkserved

    @property
    def always_forks(self) -> bool:
        """Fork on every target: inherited state is there, nothing is pickled to start a worker."""
        return not self.other

    @property
    def may_fork(self) -> bool:
        return bool(self.forks)

    def reimporting(self) -> StartVerdict:
        """The same dispatch with only the targets whose workers import the main module anew:
        spawned ones, and fork servers before Python 3.14 (a later one imported the main script
        once, before it forked them)."""
        return StartVerdict(self.start, self.forks, tuple(t for t in self.other if not t.preloaded))

    def breaks_text(self) -> str:
        """Where the workers are not forked: ``spawn/forkserver: macOS, Windows, Linux with Python >= 3.14``."""
        if self.start.method is not None and not self.start.conditional:
            return f"{self.start.method} ({self.start.how}): every platform"
        methods = "/".join(dict.fromkeys(t.default for t in self.other))
        note = f" ({self.start.note})" if self.start.note else ""
        return f"{methods}: {', '.join(t.label for t in self.other)}{note}"

    def defaults_text(self) -> str:
        """The default start methods where they are not fork: ``spawn on macOS and Windows, forkserver on Linux with Python >= 3.14``."""
        groups: dict[str, list[str]] = {}
        for target in self.other:
            groups.setdefault(target.default, []).append(target.label)
        return ", ".join(f"{method} on {' and '.join(labels)}" for method, labels in groups.items())

    def forks_text(self) -> str:
        """``Linux with Python < 3.14`` or ``fork, from get_context("fork")``."""
        if self.start.method is not None and not self.start.conditional:
            return f"{self.start.how}"
        return ", ".join(t.label for t in self.forks)


def _preloads(method: str, config: Config) -> bool:
    """Whether a ``forkserver`` chosen by a pin imports the main script before it forks, on every
    targeted Python."""
    return method == "forkserver" and all(minor >= FORKSERVER_PRELOADS_MAIN for minor in python_minors(config.python))


def verdict(start: StartMethod, config: Config) -> StartVerdict:
    """The start of ``start``'s workers on each target of ``config``."""
    if start.platforms is not None:  # pinned on some platforms (``if sys.platform == "darwin":``), the default elsewhere
        held = tuple(
            Target(t.label, start.method, t.platform, preloaded=_preloads(start.method, config))
            if t.platform in start.platforms and start.method
            else t
            for t in default_targets(config.platforms, config.python)
        )
        return StartVerdict(start, tuple(t for t in held if t.default == "fork"), tuple(t for t in held if t.default != "fork"))
    if start.conditional:  # fork where it can: every target but Windows
        targets = default_targets(config.platforms, config.python)
        forks = tuple(Target(t.label, "fork") for t in targets if t.label != "Windows")
        return StartVerdict(start, forks, tuple(t for t in targets if t.label == "Windows"))
    if start.method is not None:
        pinned = (Target("every platform", start.method, preloaded=_preloads(start.method, config)),)
        return StartVerdict(start, pinned, ()) if start.method == "fork" else StartVerdict(start, (), pinned)
    targets = default_targets(config.platforms, config.python)
    return StartVerdict(start, tuple(t for t in targets if t.default == "fork"), tuple(t for t in targets if t.default != "fork"))
