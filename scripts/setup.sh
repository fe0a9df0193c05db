#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project with its dev and spark extras. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    echo "==> installing billing-reports and its dependencies"
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet -e '.[dev,spark]'
    touch .venv/.installed
fi
