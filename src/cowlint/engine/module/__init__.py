"""One module's analysis: bytes -> syntax tree -> facts -> abstract values -> what the rules read.

A value crosses into another module of the project only through
:mod:`cowlint.engine.project.linking`, which answers the questions this layer asks.
"""
