#!/usr/bin/env bash
# Run `patina belief list --json` and `patina belief check` on a copy of the patina 0.11 corpus
# and report: how many beliefs load, check's findings by kind, and a round trip through real
# edits (every belief revised once; the diff must touch only `revised:` and the new log line).
#
# Usage: scripts/corpus-beliefs.sh [CORPUS_DIR]   (default ../shared/corpus/patina-0.11)
# Needs: a built binary (cargo build), python3, git.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/corpus/patina-0.11}
[ -d "$CORPUS/layer" ] || { echo "no corpus at $CORPUS (expected $CORPUS/layer)" >&2; exit 2; }
BIN=${PATINA_BIN:-$PWD/target/debug/patina}
[ -x "$BIN" ] || cargo build -q
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export PATINA_HOME=$WORK/home XDG_CONFIG_HOME=$WORK/xdg HOME=$WORK/home
cp -r "$CORPUS/layer" "$WORK/layer"
cp -r "$WORK/layer" "$WORK/orig"
cd "$WORK"
git init -q . && mkdir -p .patina/local

echo "== belief list --json"
"$BIN" belief list --json > list.json 2> list.err
python3 -c 'import json; print("beliefs loaded:", len(json.load(open("list.json"))))'
[ -s list.err ] && { echo "warnings:"; cat list.err; }

echo "== layer documents (belief docs --json)"
"$BIN" belief docs --json > docs.json
python3 -c 'import json,collections; d=json.load(open("docs.json")); print(dict(collections.Counter(x["kind"] for x in d)))'

echo "== belief check"
set +e
"$BIN" belief check > check.txt 2> check.err
rc=$?
"$BIN" belief check --json > check.json 2>/dev/null
set -e
echo "exit code: $rc"
[ -s check.err ] && { echo "stderr:"; cat check.err; }
tail -n 1 check.txt
python3 - <<'PY'
import json, collections
r = json.load(open("check.json"))
print("beliefs checked:", r["beliefs"])
for k, n in sorted(r["counts"].items()):
    print(f"  {k:22} {n}")
dang = [f for f in r["findings"] if f["kind"] == "dangling_link"]
print(f'links examined: {r["links"]}, dangling: {len(dang)} ({100*len(dang)/max(r["links"],1):.0f}%)')
print("distinct dangling targets:", len({f["target"] for f in dang}))
print("beliefs with a dangling link:", len({f["path"] for f in dang}))
for f in r["findings"]:
    if f["kind"] != "dangling_link":
        print(f'  {f["path"]}:{f["line"]}: {f["kind"]}: {f["message"]}')
PY

echo "== round trip through revise (every belief)"
ids=$(python3 -c 'import json; print(" ".join(b["id"] for b in json.load(open("list.json"))))')
for id in $ids; do "$BIN" belief revise "$id" "corpus round trip" > /dev/null; done
changed=0; other=0
for f in orig/surface/epistemic/beliefs/*.md; do
  n=$(basename "$f")
  d=$(diff "$f" "layer/surface/epistemic/beliefs/$n" | grep -E '^[<>]' | grep -vE '^[<>] revised: ' | grep -vE '^> - [0-9-]+: corpus round trip$' || true)
  changed=$((changed+1))
  if [ -n "$d" ]; then other=$((other+1)); echo "unexpected change in $n:"; echo "$d"; fi
done
echo "revised $changed files; files with changes beyond revised:/Revision Log: $other"
[ "$other" = 0 ] || exit 1
[ "$rc" = 1 ] || [ "$rc" = 0 ]
