"""The file driver: finding the files, reading them, the result cache, worker processes, writing fixes.

It knows files and runs, not Python: each file's bytes go to :mod:`cowlint.engine.module`.
"""
