#!/usr/bin/env bash
# benches/burst.sh: Chat-met-je-CLB's burst (issue 17): a study fair's thousand chats in
# three compressed days at one centre with a reception team of 8, against a fresh
# chat-met-je-clb server on durable SQLite (the default), in release.
#
# Writes benches/results/burst.{md,json}; fails when a message is lost or doubled, a queue
# position rises, a visitor is overtaken or not served, or the server's report disagrees.
#
# Usage: bash benches/burst.sh          (about five minutes; the machine should be quiet)
# Knobs (environment): CHATS (1000), TEAM (8), CAPACITY (2), COMPRESS (300), SEED (1),
#   CLBCHAT_BENCH_OUT (benches/results).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/clbchat-target}"
BIN="$CARGO_TARGET_DIR/release"
OUT="${CLBCHAT_BENCH_OUT:-benches/results}"
WORK="$(mktemp -d -t clbchat-burst.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== build (release)" >&2
cargo build --release --locked -p chat-met-je-clb --bin chat-met-je-clb -p clbchat-benches --bin clbchat-load

echo "== a fresh chat-met-je-clb on durable SQLite" >&2
CLBCHAT_SERVER__LISTEN=127.0.0.1:0 \
CLBCHAT_STORAGE__URL="sqlite://$WORK/fair.db" \
CLBCHAT_PSEUDONYMS__KEY_FILE="$WORK/pseudonym-keys.toml" \
CLBCHAT_LOG__LEVEL=warn \
  "$BIN/chat-met-je-clb" serve >"$WORK/out" 2>"$WORK/out.err" &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 300); do
  if grep -q 'listens on' "$WORK/out" 2>/dev/null && [ -s "$WORK/setup-link.txt" ]; then
    PORT="$(grep -o '127\.0\.0\.1:[0-9]*' "$WORK/out" | head -n 1 | cut -d: -f2)"
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/out" "$WORK/out.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$PORT" ] || { echo "the server did not start" >&2; cat "$WORK/out" "$WORK/out.err" >&2; exit 1; }

echo "== the study fair" >&2
mkdir -p "$OUT"
"$BIN/clbchat-load" study-fair --url "ws://127.0.0.1:$PORT/ws" \
  --setup-link "$(cat "$WORK/setup-link.txt")" \
  --chats "${CHATS:-1000}" --team "${TEAM:-8}" --capacity "${CAPACITY:-2}" \
  --compress "${COMPRESS:-300}" --seed "${SEED:-1}" \
  --json "$OUT/burst.json" --markdown "$OUT/burst.md"
