#!/usr/bin/env bash
# The Docker image's file system, built without Docker the way the Dockerfile builds it, then the browser test
# against the app served from it: the files `COPY . .` takes (.dockerignore leaves out what git ignores), the node
# stage's face models, the same base Python with a fresh venv and the same scripts/setup.sh (runtime requirements
# only, no test tools), HIDESEEK_PUBLIC=1, an empty data folder and no ../shared beside it.
# One difference: torch here is this machine's local wheel, not the CPU-only build the Dockerfile downloads.
# Usage: scripts/test_image_fs.sh (run by `make test`; KEEP=1 keeps the folder)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d /tmp/hideseek-image.XXXXXX)  # nothing named shared/ beside app/, as in the image
if [[ -z "${KEEP:-}" ]]; then trap 'rm -rf "$WORK"' EXIT; fi
APP=$WORK/app
mkdir -p "$APP/data"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' file; do [[ -e $file ]] && printf '%s\0' "$file"; done \
  | tar --null -T - -cf - | tar -xf - -C "$APP"
if [[ -d assets/models/human-models ]]; then
  mkdir -p "$APP/assets/models" && cp -r assets/models/human-models "$APP/assets/models/"
fi
echo "image file system in $APP; installing a fresh venv with scripts/setup.sh…"
(cd "$APP" && "${PYTHON:-python3}" -m venv .venv && scripts/setup.sh)
echo "serving it in public mode and running the browser test against it…"
HIDESEEK_E2E_APP=$APP HIDESEEK_PUBLIC=1 HIDESEEK_DATA=$APP/data STREAMLIT_SERVER_MAX_UPLOAD_SIZE=10 \
  .venv/bin/python -m pytest -m e2e -q -p no:cacheprovider tests/test_e2e_browser.py -k renders
