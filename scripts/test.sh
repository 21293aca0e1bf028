#!/usr/bin/env bash
# Create .venv if needed, install the package with its test extras, run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
exec .venv/bin/python -m pytest -n 2 "$@"
