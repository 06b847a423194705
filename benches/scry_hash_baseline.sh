#!/usr/bin/env bash
# Baseline for a no-change `patina index` (benches/scry_index.rs): read and hash every file the
# scry corpus reads under DIR (the work tree without .git/ and .patina/), with sha256sum.
set -euo pipefail
cd "${1:-.}"
find . -type f -not -path './.git/*' -not -path './.patina/*' -print0 | xargs -0 sha256sum >/dev/null
