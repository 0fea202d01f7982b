#!/usr/bin/env bash
# Create .venv and install the project's requirements; idempotent.
# Stamps keyed on the requirement files' hashes skip reinstalling when nothing changed
# (a --dev install also satisfies a plain one).
# Usage: scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
DEV=0
if [[ "${1:-}" == "--dev" ]]; then DEV=1; fi
# Before the stamp check, so they also run for an up-to-date venv; both are idempotent and never fatal.
scripts/fetch_face_models.sh
if [[ $DEV == 1 ]]; then VENV="$VENV" scripts/install_tfjs_reference.sh; fi
runtime_stamp="$VENV/.stamp-$(cat requirements.txt requirements-nodeps.txt | sha256sum | cut -c1-16)"
dev_stamp="$VENV/.stamp-dev-$(cat requirements.txt requirements-nodeps.txt requirements-dev.txt | sha256sum | cut -c1-16)"
# The demo pack (core/demo.py), built from the installed scikit-image; skipped where the code is not there yet (the
# Dockerfile runs setup before copying the code, then builds the pack itself).
demo_pack() {
  if [[ -f scripts/build_demo_pack.py ]]; then "$VENV/bin/python" scripts/build_demo_pack.py; fi
}
if [[ $DEV == 1 && -f "$dev_stamp" ]] || [[ $DEV == 0 && -f "$runtime_stamp" ]]; then demo_pack; exit 0; fi
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${pip[@]}" --upgrade pip
"${pip[@]}" -r requirements.txt
"${pip[@]}" --no-deps -r requirements-nodeps.txt
rm -f "$VENV"/.stamp-*
touch "$runtime_stamp"
if [[ $DEV == 1 ]]; then
  "${pip[@]}" -r requirements-dev.txt
  touch "$dev_stamp"
fi
demo_pack
