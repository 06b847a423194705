#!/usr/bin/env bash
# Parse every session file of a patina 0.11 corpus through `patina session show <path> --json`
# and report the files that fail, with the reason. Not a cargo test: the corpus is not part of
# this project. Usage: scripts/corpus-parse.sh [DIR] [PATINA_BIN]
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-../shared/corpus/patina-0.11/layer/sessions}
bin=${2:-target/debug/patina}
[ -x "$bin" ] || cargo build --quiet || exit 1
total=0 ok=0 failed=0 warned=0 legacy=0 yaml=0 none=0 entries=0
for f in "$dir"/*.md; do
    total=$((total + 1))
    if out=$("$bin" session show "$f" --json 2>&1) && echo "$out" | jq -e '.id' >/dev/null 2>&1; then
        ok=$((ok + 1))
        read -r fmt nwarn nact < <(echo "$out" | jq -r '[.format, (.warnings|length), (.activity|length)] | @tsv')
        case $fmt in legacy) legacy=$((legacy + 1));; yaml) yaml=$((yaml + 1));; *) none=$((none + 1));; esac
        entries=$((entries + nact))
        if [ "$nwarn" != 0 ]; then
            warned=$((warned + 1))
            [ -n "${VERBOSE:-}" ] && echo "WARN $f: $(echo "$out" | jq -r '.warnings | join("; ")')"
        fi
    else
        failed=$((failed + 1))
        echo "FAIL $f: $(echo "$out" | jq -r '.error? // .' 2>/dev/null | head -3)"
    fi
done
echo "files: $total  parsed: $ok  failed: $failed  (yaml: $yaml, legacy: $legacy, no header: $none; with warnings: $warned; activity entries: $entries)"
[ "$failed" = 0 ]
