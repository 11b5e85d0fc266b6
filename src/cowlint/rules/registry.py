"""The rule registry: every rule class, by code."""

from __future__ import annotations

from cowlint.rules import ENGINE_CODES
from cowlint.rules.base import Report, Rule
from cowlint.rules.gc.cow301_fork_without_gc_freeze import ForkWithoutGcFreeze
from cowlint.rules.gc.cow302_freeze_without_early_disable import FreezeWithoutEarlyDisable
from cowlint.rules.gc.cow303_copy_on_read_container import CopyOnReadContainer
from cowlint.rules.gc.cow304_worker_mutates_inherited_global import WorkerMutatesInheritedGlobal
from cowlint.rules.payload.cow101_self_shipped_to_pool import SelfShippedToPool
from cowlint.rules.payload.cow102_large_object_shipped_to_pool import LargeObjectShippedToPool
from cowlint.rules.startmethod.cow201_fork_inherited_state import ForkInheritedState
from cowlint.rules.startmethod.cow202_heavy_import_under_spawn import HeavyImportUnderSpawn
from cowlint.rules.startmethod.cow203_unguarded_process_start import UnguardedProcessStart
from cowlint.rules.startmethod.cow204_unpicklable_callable import UnpicklableCallable
from cowlint.rules.startmethod.cow205_fork_after_threads import ForkAfterThreads
from cowlint.rules.tool.cow901_parse_error import ParseError
from cowlint.rules.tool.cow902_io_error import ReadError

ALL_RULES: tuple[type[Rule], ...] = (
    SelfShippedToPool,
    LargeObjectShippedToPool,
    ForkInheritedState,
    HeavyImportUnderSpawn,
    UnguardedProcessStart,
    UnpicklableCallable,
    ForkAfterThreads,
    ForkWithoutGcFreeze,
    FreezeWithoutEarlyDisable,
    CopyOnReadContainer,
    WorkerMutatesInheritedGlobal,
    ParseError,
    ReadError,
)
RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "ENGINE_CODES", "RULES_BY_CODE", "Report", "Rule"]
