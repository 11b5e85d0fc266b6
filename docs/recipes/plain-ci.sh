#!/usr/bin/env sh
# Any CI: fail the build on findings, keep a machine-readable report.
set -e
pip install "${COWLINT:-cowlint}"
cowlint --output-format json . > cowlint.json || status=$?
cowlint --statistics . || true
exit "${status:-0}"
