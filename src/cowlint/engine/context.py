"""What a rule sees of a module: its facts and the analyses derived from them, each computed once."""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from cowlint.config import Config
from cowlint.engine.dispatch import DispatchSite, find_dispatch_sites
from cowlint.engine.facts import ModuleFacts
from cowlint.engine.shipping import Shipped, shipped_objects, snippet
from cowlint.engine.values import Resolver


class ModuleContext:
    """One module under check. Rules read its properties; each is computed on first use."""

    def __init__(self, path: str, module: cst.Module, facts: ModuleFacts, config: Config) -> None:
        self.path = path
        self.module = module
        self.facts = facts
        self.config = config

    @cached_property
    def resolver(self) -> Resolver:
        """Evaluates expressions of this module to abstract values."""
        return Resolver(self.facts, self.config.large_threshold)

    @cached_property
    def dispatch_sites(self) -> list[DispatchSite]:
        """Every process dispatch in the module."""
        return find_dispatch_sites(self.facts, self.resolver)

    @cached_property
    def shipped(self) -> list[Shipped]:
        """Everything the dispatches pickle that is an instance or data."""
        result: list[Shipped] = []
        for site in self.dispatch_sites:
            result.extend(shipped_objects(self.facts, self.resolver, site))
        return result

    def code(self, node: cst.CSTNode, limit: int = 60) -> str:
        """The source of ``node`` on one line, tidied and shortened to ``limit`` characters."""
        return snippet(self.module, node, limit)
