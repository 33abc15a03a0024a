#!/usr/bin/env bash
# benches/hostile.sh: a million hostile frames against a fresh clbchat server (issue 15).
#
# Builds in release, starts clbchat on durable SQLite in a temporary folder on a free port
# of 127.0.0.1, runs clbchat-hostile against it (mutations of the golden client frames over
# 64 connections, a canary chat meanwhile, the server's memory sampled), stops the server
# with SIGTERM, and checks that it never panicked and stopped cleanly. Writes the outcome to
# benches/results/hostile.{md,json}. Bounded: FRAMES frames, at most 15 minutes.
#
# Usage: bash benches/hostile.sh        Knobs: FRAMES (1000000), CONNECTIONS (64), SEED,
#   FRAMES_PER_SECOND and FRAME_BURST (the server's per-connection rate limit, 10 and 30 as
#   deployed; raise them to have every frame reach the handlers instead of `rate_limited`).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/clbchat-target}"
BIN="$CARGO_TARGET_DIR/release"
OUT="${CLBCHAT_BENCH_OUT:-benches/results}"
FRAMES="${FRAMES:-1000000}"
CONNECTIONS="${CONNECTIONS:-64}"
SEED="${SEED:-20261204}"
WORK="$(mktemp -d -t clbchat-hostile.XXXXXX)"
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --locked -p clbchat --bin clbchat -p clbchat-benches --bin clbchat-hostile

CLBCHAT_SERVER__LISTEN=127.0.0.1:0 \
CLBCHAT_STORAGE__URL="sqlite://$WORK/clbchat.db" \
CLBCHAT_PSEUDONYMS__KEY_FILE="$WORK/pseudonym-keys.toml" \
CLBCHAT_LOG__LEVEL=warn \
CLBCHAT_SERVER__FRAMES_PER_SECOND="${FRAMES_PER_SECOND:-10}" \
CLBCHAT_SERVER__FRAME_BURST="${FRAME_BURST:-30}" \
  "$BIN/clbchat" serve >"$WORK/out" 2>"$WORK/err" &
SERVER_PID=$!
for _ in $(seq 1 300); do
  grep -q 'listens on' "$WORK/out" 2>/dev/null && [ -s "$WORK/setup-link.txt" ] && break
  sleep 0.1
done
PORT="$(grep -o '127\.0\.0\.1:[0-9]*' "$WORK/out" | head -n 1 | cut -d: -f2)"
LINK="$(cat "$WORK/setup-link.txt")"
mkdir -p "$OUT"

status=0
"$BIN/clbchat-hostile" --url "ws://127.0.0.1:$PORT/ws" --setup-link "$LINK" \
  --server-pid "$SERVER_PID" --frames "$FRAMES" --connections "$CONNECTIONS" --seed "$SEED" \
  --json "$OUT/hostile.json" | tee "$OUT/hostile.md" || status=$?

kill -TERM "$SERVER_PID"
exit_code=0
wait "$SERVER_PID" || exit_code=$?
SERVER_PID=""
{
  echo
  echo "Server exit code after SIGTERM: $exit_code"
  if grep -q 'panicked' "$WORK/err"; then echo "The server PANICKED:"; grep -m5 'panicked' "$WORK/err"; status=1
  else echo "No panic in the server's log."; fi
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%d); commit $(git rev-parse --short HEAD)."
  echo "Command: FRAMES=$FRAMES CONNECTIONS=$CONNECTIONS SEED=$SEED FRAMES_PER_SECOND=${FRAMES_PER_SECOND:-10} FRAME_BURST=${FRAME_BURST:-30} bash benches/hostile.sh"
} | tee -a "$OUT/hostile.md"
[ "$exit_code" -eq 0 ] || status=1
exit "$status"
