# benches/lib.sh: what benches/run.sh and benches/profile.sh share: a work folder, and
# starting and stopping a fresh server of each kind on a free port of 127.0.0.1.
# Sourced, not run; expects BIN (the release folder) to be set. CLBCHAT_BIN, if set, is the
# clbchat server binary to start instead of $BIN/clbchat (e.g. a saved build, for an A/B).

WORK="$(mktemp -d -t clbchat-bench.XXXXXX)"
SERVER_PID=""

log() { printf '\n== %s\n' "$*" >&2; }

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
# On failure the work folder stays, with each server's output (`NAME/out`, `NAME/out.err`)
# and the load generator's (`RUN.load.err`), so a failed run can be read afterwards.
cleanup() {
  local rc=$?
  stop_server
  if [ "$rc" -eq 0 ]; then
    rm -rf "$WORK"
  else
    echo "failed (exit $rc); its servers' and load generator's output is kept in $WORK" >&2
  fi
}
trap cleanup EXIT

# Waits until the process behind $SERVER_PID printed "listens on ...:PORT" to $1; sets PORT.
wait_listening() {
  local out="$1" i
  for i in $(seq 1 300); do
    if grep -q 'listens on' "$out" 2>/dev/null; then
      PORT="$(grep -o '127\.0\.0\.1:[0-9]*' "$out" | head -n 1 | cut -d: -f2)"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server stopped:" >&2; cat "$out" "$out.err" >&2 || true; exit 1; }
    sleep 0.1
  done
  echo "the server did not start: $out" >&2
  exit 1
}

# start_clbchat NAME STORAGE_URL DURABILITY: a fresh clbchat server; sets SERVER_PID, PORT, LINK.
# Each run's conversation keys (crypto-shredding, docs/storage.md) in its own folder: a
# PostgreSQL database needs the key file named; for SQLite it is where the default would be.
start_clbchat() {
  local dir="$WORK/$1"
  mkdir -p "$dir"
  CLBCHAT_SERVER__LISTEN=127.0.0.1:0 \
  CLBCHAT_STORAGE__URL="$2" \
  CLBCHAT_STORAGE__DURABILITY="$3" \
  CLBCHAT_PSEUDONYMS__KEY_FILE="$dir/pseudonym-keys.toml" \
  CLBCHAT_STORAGE__KEY_FILE="$dir/conversation-keys.db" \
  CLBCHAT_SERVER__MAX_CONNECTIONS=20000 \
  CLBCHAT_DESK__MAX_QUEUE=20000 \
  CLBCHAT_LOG__LEVEL=warn \
    "${CLBCHAT_BIN:-$BIN/clbchat}" serve >"$dir/out" 2>"$dir/out.err" &
  SERVER_PID=$!
  wait_listening "$dir/out"
  # The server writes the link file just after it prints that it listens.
  local i
  for i in $(seq 1 100); do
    [ -s "$dir/setup-link.txt" ] && break
    sleep 0.1
  done
  LINK="$(cat "$dir/setup-link.txt")"
}

start_relay() {
  rm -f "$WORK/relay-journal.db"*
  # RELAY_BY_CHAT=1: the durable pairs' journal laid out by chat (clbchat-bare-relay
  # --journal-by-chat).
  local by_chat=()
  [ "${RELAY_BY_CHAT:-0}" = 1 ] && by_chat=(--journal-by-chat)
  "$BIN/clbchat-bare-relay" --listen 127.0.0.1:0 --journal "$WORK/relay-journal.db" "${by_chat[@]}" \
    >"$WORK/relay.out" 2>"$WORK/relay.out.err" &
  SERVER_PID=$!
  wait_listening "$WORK/relay.out"
}

start_socketio() {
  node benches/socketio-relay/relay.js 0 >"$WORK/socketio.out" 2>"$WORK/socketio.out.err" &
  SERVER_PID=$!
  wait_listening "$WORK/socketio.out"
}

