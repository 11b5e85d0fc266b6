"""The rules. Codes and names are here, importable without the engine (configuration
checks and fully cached runs never import libcst); the rule classes are in
:mod:`cowlint.rules.registry`, each in its own file."""

from __future__ import annotations

# code -> name of every rule; tests/test_docs.py checks it against the registry
RULE_NAMES: dict[str, str] = {
    "COW101": "self-shipped-to-pool",
    "COW102": "large-object-shipped-to-pool",
    "COW201": "fork-inherited-state",
    "COW202": "heavy-import-under-spawn",
    "COW203": "unguarded-process-start",
    "COW204": "unpicklable-callable",
    "COW205": "fork-after-threads",
    "COW301": "fork-without-gc-freeze",
    "COW302": "freeze-without-early-disable",
    "COW303": "copy-on-read-container",
    "COW304": "worker-mutates-inherited-global",
    "COW901": "parse-error",
    "COW902": "io-error",
}
# Reported by the engine itself, not by a check over module facts.
ENGINE_CODES = frozenset({"COW901", "COW902"})

__all__ = ["ENGINE_CODES", "RULE_NAMES"]
