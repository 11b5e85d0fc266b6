"""``cowlint --verify``: run a script under a probe, fork it for real, and measure.

The only part of cowlint that executes user code, and only the script the
user named. ``probe`` runs inside the script's interpreter (standard library
only); ``harness`` starts it, samples every descendant's memory and keeps the
process tree under control; ``report`` joins the measurements with the static
findings; ``render`` prints them.
"""
