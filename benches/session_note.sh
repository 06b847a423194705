#!/usr/bin/env bash
# Benchmark: `patina session note` per process, side by side in one hyperfine run with the floor
# of any durable append: a minimal C program that is spawned, takes an flock, appends one line
# and fsyncs (what a note must do at the least), and with a `git rev-list --count` baseline for
# the git half of the numbers. Then `session update` over a range of N commits (default 1800)
# against `git rev-list --count` + `git diff --shortstat` on the same range.
#
# `session update` is timed twice: as run (the committed half is memoised in
# .patina/local/range-memo.json while HEAD does not move) and cold (the memo removed before each
# run, so the whole range is walked and diffed). BASE_BIN=/path/to/older/patina adds that binary's
# note and cold update to the same runs (before/after).
#
# Usage: [BASE_BIN=..] benches/session_note.sh [N_COMMITS] [PATINA_BIN]   (needs git, gcc, hyperfine, python3)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1800}
bin=${2:-$here/target/release/patina}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d -t patina-note-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export PATINA_HOME=$work/home XDG_CONFIG_HOME=$work/xdg HOME=$work/h GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@e GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@e
mkdir -p "$HOME"

# The floor: spawn + open + flock + append + fsync + exit, nothing else.
cat > "$work/append.c" <<'C'
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int lock = open(argv[2], O_RDWR | O_CREAT, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) return 1;
    int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0) return 1;
    size_t len = strlen(argv[3]);
    if (write(fd, argv[3], len) != (ssize_t)len || write(fd, "\n", 1) != 1) return 1;
    if (fsync(fd) != 0) return 1;
    return 0;
}
C
gcc -O2 -o "$work/durable-append" "$work/append.c"

small=$work/small && mkdir -p "$small" && cd "$small"
git init -q -b main && echo a > a && git add a && git commit -qm a && "$bin" init >/dev/null
"$bin" session start "latency" >/dev/null
base=${BASE_BIN:-}
note_base=()
[ -n "$base" ] && note_base=(-n "base: patina session note" "$base session note 'a note from the benchmark'")
hyperfine -N --warmup 10 --runs ${RUNS:-200} --export-json "$work/note.json" \
  -n "patina session note" "$bin session note 'a note from the benchmark'" \
  -n "durable append floor (spawn+flock+write+fsync)" \
     "$work/durable-append $small/.patina/local/floor.md $small/.patina/local/floor.lock 'a note from the benchmark'" \
  "${note_base[@]}"
python3 - "$work/note.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
p, f = r[0], r[1]
print(f"note / floor: mean {p['mean']/f['mean']:.2f}x ({p['mean']*1e3:.2f} vs {f['mean']*1e3:.2f} ms), "
      f"median {p['median']/f['median']:.2f}x ({p['median']*1e3:.2f} vs {f['median']*1e3:.2f} ms)")
if len(r) > 2:
    b = r[2]
    print(f"base note / floor: mean {b['mean']/f['mean']:.2f}x ({b['mean']*1e3:.2f} ms), "
          f"median {b['median']/f['median']:.2f}x ({b['median']*1e3:.2f} ms)")
PY
"$bin" session end >/dev/null

# session update over an N-commit range.
repo=$work/repo && mkdir -p "$repo" && cd "$repo"
git init -q -b main
echo seed > seed.txt && git add . && git commit -qm seed
"$bin" init >/dev/null
"$bin" session start "bench over $n commits" >/dev/null
start=$(git rev-parse HEAD)
python3 - "$n" <<'PY' | git fast-import --quiet
import sys
n = int(sys.argv[1]); t = 1_700_000_000
out = sys.stdout
out.write("reset refs/heads/main\nfrom refs/heads/main^0\n")
for i in range(n):
    f = f"src/m{i % 400}/file{i % 400}.txt"
    body = f"line {i}\n" * (1 + i % 5)
    msg = f"commit {i}\n"
    out.write(f"commit refs/heads/main\nmark :{i+1}\n")
    out.write(f"committer bench <b@e> {t + i} +0000\n")
    out.write(f"data {len(msg)}\n{msg}")
    out.write(f"M 100644 inline {f}\ndata {len(body.encode())}\n{body}\n")
PY
git checkout -q -f main
echo "range: $(git rev-list --count "$start"..HEAD) commits, $(git diff --shortstat "$start" HEAD)"
echo "patina says: $("$bin" session update --json | python3 -c 'import json,sys; g=json.load(sys.stdin)["git"]; print(g["commits"], "commits,", len(g["files"]), "files, +%d -%d" % (g["insertions"], g["deletions"]))')"
memo=$repo/.patina/local/range-memo.json
update_base=()
[ -n "$base" ] && update_base=(--prepare "rm -f $memo" -n "base: patina session update" "$base session update")
hyperfine -N --warmup 3 --runs ${RUNS_UPDATE:-30} --export-json "$work/update.json" \
  --prepare true -n "patina session update" "$bin session update" \
  --prepare true -n "git rev-list --count + git diff --shortstat" \
     "sh -c 'git rev-list --count $start..HEAD >/dev/null && git diff --shortstat $start HEAD >/dev/null'" \
  --prepare "rm -f $memo" -n "patina session update, cold (memo removed)" "$bin session update" \
  "${update_base[@]}"
python3 - "$work/update.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
p, g, c = r[0]["mean"], r[1]["mean"], r[2]["mean"]
print(f"update / git: {p/g:.2f}x  (patina {p*1000:.1f} ms, git {g*1000:.1f} ms)")
print(f"cold update / git: {c/g:.2f}x  (patina {c*1000:.1f} ms)")
if len(r) > 3:
    b = r[3]["mean"]
    print(f"base update / git: {b/g:.2f}x  (base {b*1000:.1f} ms)")
PY
