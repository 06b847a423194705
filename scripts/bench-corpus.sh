#!/usr/bin/env bash
# Build the real-size scry bench corpus (>= 7 000 chunks) into DEST (default
# target/scry-bench/corpus): the shared patina 0.11 layer (beliefs, layer docs, 589 sessions),
# this repository's own src/ and tests/ as source files, and this repository's git history as
# commit messages. Every scry bench (index, throughput, relevance) uses the same corpus so their
# figures can be put side by side.
#
#   scripts/bench-corpus.sh [DEST]
#
# The shared corpus is looked up in $PATINA_SHARED, ../shared, then ../../shared (a worktree).
# DEST is rebuilt from scratch each time (it holds nothing else). Prints DEST on stdout.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$repo/target/scry-bench/corpus}"

shared=""
for cand in "${PATINA_SHARED:-}" "$repo/../shared" "$repo/../../shared"; do
  if [ -n "$cand" ] && [ -d "$cand/corpus/patina-0.11/layer" ]; then
    shared="$(cd "$cand" && pwd)"
    break
  fi
done
if [ -z "$shared" ]; then
  echo "bench-corpus: the shared corpus (shared/corpus/patina-0.11/layer) was not found; set PATINA_SHARED" >&2
  exit 2
fi

case "$dest" in
  "" | / | "$repo" | "$HOME") echo "bench-corpus: refusing DEST=$dest" >&2; exit 2 ;;
esac
rm -rf "$dest"
mkdir -p "$dest"

# History: this repository's commits (their messages are the commit chunks), without a checkout.
git init -q -b main "$dest"
git -C "$dest" fetch -q --no-tags "$repo" HEAD
git -C "$dest" update-ref refs/heads/main FETCH_HEAD
# The work tree the corpus reads: the 0.11 layer, our src/ and tests/ (not committed: scry reads
# files from the work tree, commits from the history).
cp -R "$shared/corpus/patina-0.11/layer" "$dest/layer"
cp -R "$repo/src" "$dest/src"
cp -R "$repo/tests" "$dest/tests"
mkdir -p "$dest/.patina/local"
printf '[project]\nsessions_dir = "layer/sessions"\n' >"$dest/.patina/config.toml"
printf '.patina/local/\n' >"$dest/.gitignore"
echo "$dest"
