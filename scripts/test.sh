#!/usr/bin/env bash
# Create the venv if needed, install the package with its test extras, run the test suite.
# VENV (default .venv) and PASSPORT_EXTRAS (default dev,torch) choose another set-up, e.g. the
# CI lane without torch: VENV=.venv-notorch PASSPORT_EXTRAS=dev bash scripts/test.sh tests/unit
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
EXTRAS="${PASSPORT_EXTRAS:-dev,torch}"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[$EXTRAS]"
exec "$VENV/bin/python" -m pytest -n 2 "$@"
