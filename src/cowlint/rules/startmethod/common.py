"""What the start-method rules share: the platform table of their pages, and wording."""

from __future__ import annotations

from cowlint.rules.base import Rule

PLATFORM_TABLE = """\
| platform | Python | default start method | workers inherit the parent's globals? |
|---|---|---|---|
| Linux | < 3.14 | `fork` | yes |
| Linux | >= 3.14 | `forkserver` | no: they inherit the fork server's import of the main script (`python -m`: they re-import it) |
| macOS | >= 3.8 | `spawn` | no: they re-import the main module |
| Windows | all | `spawn` | no: they re-import the main module |

cowlint reads the targets from `platforms` in `[tool.cowlint]` (default: all
three) and the Python versions from `[project] requires-python` (or `python`
in `[tool.cowlint]`); `--platforms` and `--python` override both. A dispatch is
pinned when `multiprocessing.get_context("fork")` (or `"spawn"`,
`"forkserver"`), `mp_context=`/`context=`, a `ForkProcess`/`SpawnProcess`
class, or a `set_start_method(...)` that runs before it chooses its start
method; a pinned dispatch starts the same way everywhere (and
`get_context("fork")` raises `ValueError` on Windows)."""


TARGET_OPTIONS = """\
- `platforms` (default `["linux", "macos", "windows"]`, or `--platforms`):
  the platforms the code must work on.
- `python` (default: `[project] requires-python`, else every version; or
  `--python`): the Python versions it must work on. With
  `platforms = ["linux"]` and `requires-python = "<3.14"` every unpinned
  dispatch forks."""


class StartMethodRule(Rule):
    """A rule whose page carries the platform table and the target options
    (``{platform_table}`` and ``{target_options}`` in its docstring)."""

    @classmethod
    def documentation(cls) -> str:
        return super().documentation().replace("{platform_table}", PLATFORM_TABLE).replace("{target_options}", TARGET_OPTIONS)

