#!/usr/bin/env bash
# Benchmark: `patina session update` over a session range of N commits (default 20000), side by
# side with `git rev-list --count start..HEAD` + `git diff --shortstat start HEAD` on the same
# range, in one hyperfine run. Also times note/start/end per process (patina 0.11 measured
# note 14.7 ms, start 38 ms, update 25 ms, end 28 ms).
#
# Usage: benches/session_update.sh [N_COMMITS] [PATINA_BIN]   (needs git, hyperfine, python3)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20000}
bin=${2:-$here/target/release/patina}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d -t patina-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export PATINA_HOME=$work/home XDG_CONFIG_HOME=$work/xdg HOME=$work/h GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@e GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@e
repo=$work/repo
mkdir -p "$repo" "$HOME" && cd "$repo"
git init -q -b main
echo seed > seed.txt && git add . && git commit -qm seed
"$bin" init >/dev/null
"$bin" session start "bench over $n commits" >/dev/null
start=$(git rev-parse HEAD)

# N commits on top of the start with git fast-import: each touches one of 2000 files (adds it
# the first time), every 50th deletes one and every 97th renames one.
python3 - "$n" <<'PY' | git fast-import --quiet
import sys
n = int(sys.argv[1]); t = 1_700_000_000
out = sys.stdout
out.write("reset refs/heads/main\nfrom refs/heads/main^0\n")
present = set()
for i in range(n):
    f = f"src/m{i % 2000}/file{i % 2000}.txt"
    body = f"line {i}\n" * (1 + i % 5)
    msg = f"commit {i}\n"
    out.write(f"commit refs/heads/main\nmark :{i+1}\n")
    out.write(f"committer bench <b@e> {t + i} +0000\n")
    out.write(f"data {len(msg)}\n{msg}")
    out.write(f"M 100644 inline {f}\ndata {len(body.encode())}\n{body}")
    present.add(f)
    if i % 50 == 49:
        d = f"src/m{(i*7) % 2000}/file{(i*7) % 2000}.txt"
        if d in present and d != f:
            out.write(f"D {d}\n"); present.discard(d)
    if i % 97 == 96:
        k = (i * 13) % 2000
        a, b = f"src/m{k}/file{k}.txt", f"src/moved/file{k}.txt"
        if a in present and a != f and b not in present:
            out.write(f"R {a} {b}\n"); present.discard(a); present.add(b)
    out.write("\n")
PY
git checkout -q -f main
echo "range: $(git rev-list --count "$start"..HEAD) commits, $(git diff --shortstat "$start" HEAD)"
echo "patina says: $("$bin" session update --json | python3 -c 'import json,sys; g=json.load(sys.stdin)["git"]; print(g["commits"], "commits,", len(g["files"]), "files, +%d -%d" % (g["insertions"], g["deletions"]))')"

hyperfine -N --warmup 3 --runs ${RUNS:-20} --export-json "$work/update.json" \
  -n "patina session update" "$bin session update" \
  -n "git rev-list --count + git diff --shortstat" \
     "sh -c 'git rev-list --count $start..HEAD >/dev/null && git diff --shortstat $start HEAD >/dev/null'"
python3 - "$work/update.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
p, g = r[0]["mean"], r[1]["mean"]
print(f"ratio patina/git = {p/g:.2f}  (patina {p*1000:.1f} ms, git {g*1000:.1f} ms)")
PY

# Per-process latency of the everyday commands in a small repo.
small=$work/small && mkdir -p "$small" && cd "$small"
git init -q -b main && echo a > a && git add a && git commit -qm a && "$bin" init >/dev/null
"$bin" session start "latency" >/dev/null
hyperfine -N --warmup 5 --runs ${RUNS_SMALL:-100} \
  -n "session note" "$bin session note 'a note from the benchmark'" \
  -n "session update" "$bin session update" \
  -n "session status" "$bin session status --json"
"$bin" session end >/dev/null
hyperfine -N --warmup 2 --runs ${RUNS_CYCLE:-30} \
  -n "session start + end" "sh -c '$bin session start cycle >/dev/null && $bin session end >/dev/null'" \
  -n "sh -c (baseline for the line above)" "sh -c 'true && true'"
