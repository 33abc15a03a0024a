#!/usr/bin/env bash
# benches/run.sh: the load comparison of issue 6, on this machine, side by side.
#
# Builds in release, then starts each target in turn on a free port, runs clbchat-load
# against it with the same parameters, and stops it:
#   1. the bare relay (clbchat-bare-relay: tokio-tungstenite alone), the ceiling; also
#      acknowledging each message (relay-ack), the ceiling of any server that acknowledges,
#      and writing each message to an SQLite journal with synchronous=FULL before it
#      acknowledges it (relay-durable), the ceiling of a durable one;
#   2. clbchat, full stack on the in-memory store (storage.url = "memory:");
#   3. clbchat on SQLite, durable (durability = "full", the default);
#   4. clbchat on SQLite, the faster mode (durability = "normal");
#   5. clbchat on PostgreSQL (a fresh database; skipped when no server answers);
#   6. the Node.js socket.io relay in benches/socketio-relay (skipped without node/npm);
# each closed loop ("max") (the relay and in memory also with twice the conversations, so
# the relay saturates), then clbchat in memory and on durable SQLite open loop at half
# of their maximum, and the bare relay at the same two rates (for the added p99 latency);
# then 10,000 concurrent conversations on durable SQLite, checked for loss.
# Prints the ratios and targets and writes them to benches/results/summary.{md,json}, with
# every run's report in benches/results/raw/.
#
# Usage: bash benches/run.sh            (about 10 minutes; the machine should be quiet)
# Knobs (environment): VISITORS (4000), COUNSELLORS (100), WARMUP (5), DURATION (15),
#   CONVERSATIONS_10K (10000), CLBCHAT_BENCH_POSTGRES_URL (a server to create a database
#   on; default the tests' CLBCHAT_TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/test),
#   CLBCHAT_BENCH_OUT (benches/results).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/clbchat-target}"
BIN="$CARGO_TARGET_DIR/release"
OUT="${CLBCHAT_BENCH_OUT:-benches/results}"
RAW="$OUT/raw"
VISITORS="${VISITORS:-4000}"
COUNSELLORS="${COUNSELLORS:-100}"
WARMUP="${WARMUP:-5}"
DURATION="${DURATION:-15}"
CONVERSATIONS_10K="${CONVERSATIONS_10K:-10000}"
PG_ADMIN="${CLBCHAT_BENCH_POSTGRES_URL:-${CLBCHAT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}}"
# shellcheck source=benches/lib.sh
. benches/lib.sh

# load LABEL TARGET URL [extra clbchat-load arguments]
load() {
  local label="$1" target="$2" url="$3"
  shift 3
  "$BIN/clbchat-load" --label "$label" --target "$target" --url "$url" \
    --server-pid "$SERVER_PID" --warmup "$WARMUP" --duration "$DURATION" \
    --json "$RAW/$label.json" --markdown "$RAW/$label.md" "$@" >/dev/null
  tail -n 1 "$RAW/$label.md" >&2
}

max_args() { echo --visitors "$VISITORS" --counsellors "$COUNSELLORS" --mode max; }

# The per-conversation rate for half of a run's delivered messages per second.
half_rate() {
  local mps
  mps="$(grep -o '"messages_per_sec": [0-9.e+]*' "$RAW/$1.json" | head -n 1 | awk '{print $2}')"
  awk -v m="$mps" -v n="$VISITORS" 'BEGIN { r = m / 2 / n; if (r > 10) r = 10; printf "%.4f", r }'
}

clbchat_run() { # LABEL STORAGE_URL DURABILITY [load args]
  local label="$1" url="$2" durability="$3"
  shift 3
  start_clbchat "$label" "$url" "$durability"
  load "$label" clbchat "ws://127.0.0.1:$PORT/ws" --setup-link "$LINK" "$@"
  stop_server
}

log "build (release)"
cargo build --release --locked -p clbchat --bin clbchat -p clbchat-benches --bins
mkdir -p "$RAW"
rm -f "$RAW"/*.json "$RAW"/*.md

log "machine"
{
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- cores: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "- memory: $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r)"
  echo "- $(rustc --version); node $(node --version 2>/dev/null || echo 'absent')"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- parameters: VISITORS=$VISITORS COUNSELLORS=$COUNSELLORS WARMUP=$WARMUP DURATION=$DURATION CONVERSATIONS_10K=$CONVERSATIONS_10K"
} >"$OUT/machine.md"
cat "$OUT/machine.md" >&2

log "1. bare relay, closed loop"
start_relay
load relay-max relay "ws://127.0.0.1:$PORT" $(max_args)
stop_server
start_relay
load relay-ack-max relay-ack "ws://127.0.0.1:$PORT" $(max_args)
stop_server
start_relay
load relay-durable-max relay-durable "ws://127.0.0.1:$PORT" $(max_args)
stop_server
RELAY_BY_CHAT=1 start_relay
load relay-by-chat-max relay-durable "ws://127.0.0.1:$PORT" $(max_args)
stop_server

log "2. clbchat, full stack in memory, closed loop"
clbchat_run memory-max memory: full $(max_args)

log "2b. twice the conversations, closed loop: the bare relay's ceiling, and ours"
# With VISITORS conversations the client's 10 messages/s per conversation can cap the
# relay below its ceiling; with twice as many it saturates, and the ratio is a fair one.
start_relay
load relay-max-2x relay "ws://127.0.0.1:$PORT" --visitors "$((VISITORS * 2))" --counsellors "$COUNSELLORS" --mode max
stop_server
clbchat_run memory-max-2x memory: full --visitors "$((VISITORS * 2))" --counsellors "$COUNSELLORS" --mode max
# The same relay acknowledging each message to its sender: one frame more each way, the
# least any server that acknowledges does, so its ceiling.
start_relay
load relay-ack-max-2x relay-ack "ws://127.0.0.1:$PORT" --visitors "$((VISITORS * 2))" --counsellors "$COUNSELLORS" --mode max
stop_server

log "3. clbchat on SQLite, durable, closed loop"
clbchat_run sqlite-full-max "sqlite://$WORK/full/clbchat.db" full $(max_args)

log "4. clbchat on SQLite, faster mode (normal), closed loop"
clbchat_run sqlite-normal-max "sqlite://$WORK/normal/clbchat.db" normal $(max_args)

log "5. clbchat on PostgreSQL, closed loop"
if psql "$PG_ADMIN" -Atqc 'select 1' >/dev/null 2>&1; then
  PG_DB="clbchat_bench_$$"
  psql "$PG_ADMIN" -qc "drop database if exists $PG_DB" -c "create database $PG_DB" >/dev/null
  PG_URL="${PG_ADMIN%/*}/$PG_DB"
  clbchat_run postgres-max "$PG_URL" full $(max_args)
  psql "$PG_ADMIN" -qc "drop database if exists $PG_DB with (force)" >/dev/null || true
else
  echo "PostgreSQL: NOT RUN: nothing answers at $PG_ADMIN (set CLBCHAT_BENCH_POSTGRES_URL)" >&2
fi

log "6. socket.io relay (Node.js), closed loop"
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  if [ ! -d benches/socketio-relay/node_modules/socket.io ]; then
    npm ci --prefix benches/socketio-relay --no-audit --no-fund --loglevel=error
  fi
  start_socketio
  load socketio-max socketio "ws://127.0.0.1:$PORT" $(max_args)
  stop_server
else
  echo "socket.io relay: NOT RUN: node and npm are not installed" >&2
fi

log "7. half of the maximum load, open loop"
MEM_HALF="$(half_rate memory-max)"
SQL_HALF="$(half_rate sqlite-full-max)"
clbchat_run memory-half memory: full --visitors "$VISITORS" --counsellors "$COUNSELLORS" --mode fixed --rate "$MEM_HALF"
clbchat_run sqlite-full-half "sqlite://$WORK/full-half/clbchat.db" full --visitors "$VISITORS" --counsellors "$COUNSELLORS" --mode fixed --rate "$SQL_HALF"
start_relay
load relay-at-memory-half relay "ws://127.0.0.1:$PORT" --visitors "$VISITORS" --mode fixed --rate "$MEM_HALF"
stop_server
start_relay
load relay-ack-at-memory-half relay-ack "ws://127.0.0.1:$PORT" --visitors "$VISITORS" --mode fixed --rate "$MEM_HALF"
stop_server
start_relay
load relay-at-sqlite-full-half relay "ws://127.0.0.1:$PORT" --visitors "$VISITORS" --mode fixed --rate "$SQL_HALF"
stop_server
start_relay
load relay-durable-at-sqlite-full-half relay-durable "ws://127.0.0.1:$PORT" --visitors "$VISITORS" --mode fixed --rate "$SQL_HALF"
stop_server
RELAY_BY_CHAT=1 start_relay
load relay-by-chat-at-sqlite-full-half relay-durable "ws://127.0.0.1:$PORT" --visitors "$VISITORS" --mode fixed --rate "$SQL_HALF"
stop_server

log "8. $CONVERSATIONS_10K concurrent conversations on durable SQLite"
clbchat_run conversations-10k "sqlite://$WORK/10k/clbchat.db" full \
  --visitors "$CONVERSATIONS_10K" --counsellors 100 --mode fixed --rate 0.2 --idle 5 \
  --duration 30 --connect-concurrency 512

echo "- load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.md"

log "ratios"
"$BIN/clbchat-load" compare "$RAW" --json "$OUT/summary.json" --markdown "$OUT/summary.md"
