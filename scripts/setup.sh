#!/usr/bin/env bash
# Create .venv and install the project's requirements; idempotent.
# A stamp keyed on the requirement files' hashes skips reinstalling when nothing changed.
# Usage: scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
files=(requirements.txt requirements-nodeps.txt)
if [[ "${1:-}" == "--dev" ]]; then files+=(requirements-dev.txt); fi
stamp="$VENV/.stamp-$(cat "${files[@]}" | sha256sum | cut -c1-16)"
if [[ -f "$stamp" ]]; then exit 0; fi
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${pip[@]}" --upgrade pip
"${pip[@]}" -r requirements.txt
"${pip[@]}" --no-deps -r requirements-nodeps.txt
if [[ "${1:-}" == "--dev" ]]; then "${pip[@]}" -r requirements-dev.txt; fi
rm -f "$VENV"/.stamp-*
touch "$stamp"
