#!/usr/bin/env bash
# Build the scry bench corpus (shared by benches/scry.rs, benches/scry_relevance.rs and anyone
# measuring the index): the patina 0.11 layer (../shared/corpus/patina-0.11/layer: 59 beliefs,
# 589 sessions, core and surface docs) plus this repository's src/, tests/ and git history at a
# pinned commit, as one patina project.
#
#   benches/scry_corpus.sh DEST [REV]
#
# REV defaults to bdb6070 (main when issue 17 started), so chunk counts and relevance figures
# stay comparable between runs and branches. DEST is replaced. PATINA_CORPUS overrides where the
# 0.11 corpus is. Prints the project root.
set -euo pipefail
dest=${1:?usage: scry_corpus.sh DEST [REV]}
rev=${2:-bdb6070}
repo=$(cd "$(dirname "$0")/.." && pwd)
corpus=${PATINA_CORPUS:-}
for c in "$corpus" "$repo/../shared/corpus/patina-0.11" "$repo/../../shared/corpus/patina-0.11" \
    /work/shared/corpus/patina-0.11; do
    if [ -n "$c" ] && [ -d "$c/layer" ]; then corpus=$c; break; fi
done
[ -d "$corpus/layer" ] || { echo "scry_corpus.sh: the patina 0.11 corpus was not found (set PATINA_CORPUS)" >&2; exit 1; }

rm -rf "$dest"
git clone -q --no-hardlinks "$repo" "$dest"
git -C "$dest" -c advice.detachedHead=false checkout -q "$rev"
# Keep src/ and tests/ of that commit (and its history); everything else is the 0.11 layer.
find "$dest" -mindepth 1 -maxdepth 1 ! -name .git ! -name src ! -name tests -exec rm -rf {} +
cp -r "$corpus/layer" "$dest/layer"
mkdir -p "$dest/.patina"
printf '[project]\nsessions_dir = "layer/sessions"\n' >"$dest/.patina/config.toml"
printf '.patina/local/\n' >"$dest/.gitignore"
echo "$dest"
