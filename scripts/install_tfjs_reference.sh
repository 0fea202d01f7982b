#!/usr/bin/env bash
# Test-only: TF.js's own CPU backend (pure JavaScript, no native build), the independent reference that
# tests/test_tfjs.py checks core/models/tfjs.py against. Installed into $VENV/tfjs-reference (git-ignored with the
# venv); idempotent. Never fatal: without npm it warns, and only that test fails, saying what is missing.
# tfjs-core + tfjs-backend-cpu + tfjs-converter are the parts of @tensorflow/tfjs that load and run a graph model.
# Usage: scripts/install_tfjs_reference.sh
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
DEST="$VENV/tfjs-reference"
VERSION=4.22.0
PACKAGES=(tfjs-core tfjs-backend-cpu tfjs-converter)

installed() {
  local package
  for package in "${PACKAGES[@]}"; do
    grep -q "\"version\": \"$VERSION\"" "$DEST/node_modules/@tensorflow/$package/package.json" 2>/dev/null || return 1
  done
}

installed && exit 0
if ! command -v npm >/dev/null; then
  echo "warning: npm not found; tests/test_tfjs.py needs TF.js $VERSION in $DEST" >&2
  exit 0
fi
specs=()
for package in "${PACKAGES[@]}"; do specs+=("@tensorflow/$package@$VERSION"); done
npm install --silent --no-audit --no-fund --save-exact --prefix "$DEST" "${specs[@]}"
installed || echo "warning: could not install TF.js $VERSION into $DEST; tests/test_tfjs.py will fail" >&2
exit 0
