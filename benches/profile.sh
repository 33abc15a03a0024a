#!/usr/bin/env bash
# benches/profile.sh: where the server's time goes, under the load of benches/run.sh.
#
# For each run named, builds in release, starts a fresh target as run.sh does, drives it with
# clbchat-load (closed loop, VISITORS conversations) and, during the measured phase only
# (after the warm-up), samples the server with `perf record --call-graph dwarf`. Writes, per
# run, into $OUT:
#   TAG-RUN.svg     a flame graph (inferno), every thread of the server;
#   TAG-RUN.md      the CPU time per thread, and the top functions by time on the CPU
#                   themselves (self) and with what they call (total; the runtime's own
#                   frames left out), in percent of the server's CPU time;
#   TAG-RUN.folded.gz  the stacks themselves (inferno-diff-folded compares two runs);
#   TAG-RUN.load.md the load generator's report of the same run (throughput, latency).
#   TAG-RUN.cpu.md  the server's CPU time per thread in the measured phase, read from /proc
#                   (also with PERF=off, where it is free of the profiler's cost), per message,
#                   and how long each thread waited for a core while ready to run.
#
# Usage: bash benches/profile.sh [RUN...]       RUN: relay relay-ack relay-durable relay-by-chat memory sqlite-full
#                                               sqlite-normal postgres (default: memory sqlite-full)
# Knobs (environment): TAG (now), VISITORS (4000), COUNSELLORS (100), WARMUP (5),
#   DURATION (10), RATE (none: closed loop; see below), FREQ (199 samples/s per thread),
#   PERF (on; off: the load's figures only, without the profiler's own cost, for a quick
#   before-and-after), CLBCHAT_PROFILE_OUT (benches/results/profiles),
#   CLBCHAT_BENCH_POSTGRES_URL as for run.sh, CLBCHAT_BIN (a clbchat binary to profile
#   instead of the fresh build: a saved copy of an earlier commit's, for a
#   before-and-after on one machine in one sitting), DROP_EVENTS_INDEX (1: sqlite runs
#   without the index on (conversation, seq), to measure what it costs; see below).
# Needs perf (Debian's linux-perf) and inferno (`cargo install inferno`).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/clbchat-target}"
BIN="$CARGO_TARGET_DIR/release"
OUT="${CLBCHAT_PROFILE_OUT:-benches/results/profiles}"
TAG="${TAG:-now}"
VISITORS="${VISITORS:-4000}"
COUNSELLORS="${COUNSELLORS:-100}"
WARMUP="${WARMUP:-5}"
DURATION="${DURATION:-10}"
FREQ="${FREQ:-199}"
PERF="${PERF:-on}"
# RATE (messages per second per conversation): an open loop at that rate instead of the
# closed loop, so that two targets are compared at the same throughput (a target that
# carries fewer messages spreads its fixed costs, the runtime's wake-ups and polls, over
# fewer of them, and looks dearer per message than it is).
if [ -n "${RATE:-}" ]; then MODE_ARGS=(--mode fixed --rate "$RATE"); else MODE_ARGS=(--mode max); fi
PG_ADMIN="${CLBCHAT_BENCH_POSTGRES_URL:-${CLBCHAT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}}"
# shellcheck source=benches/lib.sh
. benches/lib.sh

TOOLS=(perf inferno-collapse-perf inferno-flamegraph)
[ "$PERF" = on ] || TOOLS=()
for tool in "${TOOLS[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "profile.sh needs $tool (perf: apt-get install linux-perf; inferno: cargo install inferno)" >&2
    exit 1
  }
done

RUNS=("$@")
[ "${#RUNS[@]}" -gt 0 ] || RUNS=(memory sqlite-full)

log "build (release)"
cargo build --release --locked -p clbchat --bin clbchat -p clbchat-benches --bins
mkdir -p "$OUT"

# profile RUN TARGET URL [clbchat-load arguments]: the load in the background, perf during
# its measured phase, then the flame graph and the tables.
profile() {
  local run="$1" target="$2" url="$3" name="$TAG-$1"
  shift 3
  "$BIN/clbchat-load" --label "$name" --target "$target" --url "$url" \
    --server-pid "$SERVER_PID" --warmup "$WARMUP" --duration "$DURATION" \
    --visitors "$VISITORS" --counsellors "$COUNSELLORS" "${MODE_ARGS[@]}" \
    --markdown "$OUT/$name.load.md" "$@" >/dev/null 2>"$WORK/$run.load.err" &
  local load_pid=$!
  # The load generator says when traffic starts; measuring begins 50 ms + WARMUP after.
  until grep -q 'traffic:' "$WORK/$run.load.err" 2>/dev/null; do
    kill -0 "$load_pid" 2>/dev/null || { cat "$WORK/$run.load.err" >&2; exit 1; }
    sleep 0.1
  done
  sleep "$(awk -v w="$WARMUP" 'BEGIN { print w + 0.05 }')"
  thread_ticks "$SERVER_PID" >"$WORK/$run.ticks.before"
  if [ "$PERF" != on ]; then
    sleep "$DURATION"
    thread_ticks "$SERVER_PID" >"$WORK/$run.ticks.after"
    wait "$load_pid" || { cat "$WORK/$run.load.err" >&2; exit 1; }
    tail -n 1 "$OUT/$name.load.md" >&2
    thread_cpu "$run" "$name" >"$OUT/$name.cpu.md"
    cat "$OUT/$name.cpu.md" >&2
    return 0
  fi
  perf record -q -F "$FREQ" --call-graph dwarf,16384 -p "$SERVER_PID" -o "$WORK/$run.perf" \
    -- sleep "$DURATION" 2>"$WORK/$run.perf.err" || { cat "$WORK/$run.perf.err" >&2; exit 1; }
  thread_ticks "$SERVER_PID" >"$WORK/$run.ticks.after"
  wait "$load_pid" || { cat "$WORK/$run.load.err" >&2; exit 1; }
  tail -n 1 "$OUT/$name.load.md" >&2
  thread_cpu "$run" "$name" >"$OUT/$name.cpu.md"
  perf script -i "$WORK/$run.perf" 2>/dev/null | inferno-collapse-perf --all >"$WORK/$run.folded"
  inferno-flamegraph --title "clbchat $run, $VISITORS conversations, closed loop ($TAG)" \
    --minwidth 0.1 <"$WORK/$run.folded" >"$OUT/$name.svg"
  tables "$run" "$name" <"$WORK/$run.folded" >"$OUT/$name.md"
  gzip -9 -c "$WORK/$run.folded" >"$OUT/$name.folded.gz"
  echo "   $OUT/$name.svg, $OUT/$name.md" >&2
}

# thread_ticks PID: one line per thread of PID, "tid name ticks waited" (its CPU time so
# far, user and system, in clock ticks; the name without a trailing number; the time it
# spent ready to run but waiting for a core, in ns, from schedstat), then "process - ticks"
# for the whole process, which still counts the threads that have ended.
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*/stat /proc/"$1"/stat; do
    awk -v whole="$([ "$t" = "/proc/$1/stat" ] && echo 1)" \
      -v waited="$(awk '{ print $2 }' "${t%/stat}/schedstat" 2>/dev/null || echo 0)" '{
      i = index($0, "("); j = 0
      for (k = length($0); k > i; k--) if (substr($0, k, 1) == ")") { j = k; break }
      name = substr($0, i + 1, j - i - 1); sub(/-[0-9]+$/, "", name)
      split(substr($0, j + 2), f, " ")
      if (whole) print "process", "-", f[12] + f[13]; else print $1, name, f[12] + f[13], waited + 0
    }' "$t" 2>/dev/null || true
  done
}

# thread_cpu RUN NAME: the server's CPU time in the measured phase (from /proc, without
# the profiler's cost when PERF=off), per thread name and in all, per delivered message. A
# thread that ended in the phase (the runtime's blocking threads end when idle for 10 s)
# is in the whole but not in its name's line.
thread_cpu() {
  local rate
  rate="$(tail -n 1 "$OUT/$2.load.md" | awk -F'|' '{ gsub(/ /, "", $7); print $7 }')"
  awk -v hz="$(getconf CLK_TCK)" -v secs="$DURATION" -v rate="$rate" -v name="$2" '
    FNR == 1 { file++ }
    file == 1 { before[$1] = $3; waited_before[$1] = $4; next }
    $1 == "process" { whole = ($3 - before["process"]) / hz; next }
    { ticks[$2] += $3 - ($1 in before ? before[$1] : 0); waited[$2] += $4 - ($1 in waited_before ? waited_before[$1] : 0) }
    END {
      printf "### Server CPU per thread, `%s` (%s msg/s, %s s measured)\n\n", name, rate, secs
      print "Waiting: the time the thread was ready to run but had no core (schedstat)."
      print ""
      print "| thread | CPU s | cores | µs per message | waiting s |"
      print "|---|---:|---:|---:|---:|"
      msgs = rate * secs
      for (t in ticks) {
        s = ticks[t] / hz; live += s
        if (s > 0) printf "| `%s` | %.2f | %.2f | %.1f | %.2f |\n", t, s, s / secs, (msgs > 0 ? 1e6 * s / msgs : 0), waited[t] / 1e9
      }
      if (whole > live + 0.005) printf "| threads that ended | %.2f | %.2f | %.1f | – |\n", whole - live, (whole - live) / secs, (msgs > 0 ? 1e6 * (whole - live) / msgs : 0)
      printf "| all | %.2f | %.2f | %.1f | – |\n", whole, whole / secs, (msgs > 0 ? 1e6 * whole / msgs : 0)
    }' "$WORK/$1.ticks.before" "$WORK/$1.ticks.after"
}

# tables RUN NAME < folded stacks (weights in nanoseconds of CPU, perf's cpu-clock): the
# threads and the top functions, in percent of the server's CPU time.
tables() {
  # Frames every stack of a thread passes through say nothing about where the time goes.
  local generic='^(tokio::runtime::|std::|core::ops::|core::future::|<core::future::|start_thread|clone3|__rust_begin|<tokio::runtime::|\\[unknown\\]|entry_SYSCALL|do_syscall_64|<std::|<tokio::time::timeout::Timeout|<core::pin::Pin)'
  awk -v run="$1" -v name="$2" -v generic="$generic" -v seconds="$DURATION" '
    {
      n = $NF; $NF = ""; sub(/ $/, "");
      total += n; k = split($0, f, ";");
      thread = f[1]; sub(/-[0-9]+(\/[0-9]+)?$/, "", thread); threads[thread] += n;
      leaf = f[k]; gsub(/_\[[a-z]\]$/, "", leaf); self[leaf] += n;
      delete seen;
      for (i = 2; i <= k; i++) {
        g = f[i]; gsub(/_\[[a-z]\]$/, "", g);
        if (g ~ generic || (g in seen)) continue;
        seen[g] = 1; incl[g] += n;
      }
    }
    function top(arr, title, limit,   m, i, j, key, best, bestv) {
      printf "\n| %s | %% of CPU time |\n|---|---:|\n", title;
      for (m = 0; m < limit; m++) {
        best = ""; bestv = -1;
        for (key in arr) if (arr[key] > bestv) { best = key; bestv = arr[key] }
        if (bestv <= 0) break;
        gsub(/\|/, "\\|", best);
        printf "| `%s` | %.1f |\n", substr(best, 1, 140), 100 * bestv / total;
        delete arr[best];
      }
    }
    END {
      printf "# Profile `%s`\n\nThe server used %.2f s of CPU in %s s measured (%.0f%% of one core).\n", name, total / 1e9, seconds, 100 * total / 1e9 / seconds;
      top(threads, "thread", 12);
      top(self, "function, self", 30);
      top(incl, "function, total (with what it calls)", 50);
    }'
}

# drop_events_index DB: a measurement, never a way to run (DROP_EVENTS_INDEX=1). Drops the
# index on events (conversation, seq) of the server's fresh database before the load
# starts, so that a run shows what keeping that index costs the durable path. Without it
# the writer still keeps the sequence rule (it remembers each chat's last number), but
# every read by chat scans the whole log.
drop_events_index() {
  python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
db.execute("DROP INDEX events_by_conversation")
db.commit()
PY
  echo "   dropped the index events_by_conversation (DROP_EVENTS_INDEX=1)" >&2
}

for run in "${RUNS[@]}"; do
  log "$run"
  case "$run" in
    relay | relay-ack | relay-durable)
      start_relay
      profile "$run" "$run" "ws://127.0.0.1:$PORT"
      ;;
    relay-by-chat)
      RELAY_BY_CHAT=1 start_relay
      profile "$run" relay-durable "ws://127.0.0.1:$PORT"
      ;;
    memory)
      start_clbchat memory memory: full
      profile memory clbchat "ws://127.0.0.1:$PORT/ws" --setup-link "$LINK"
      ;;
    sqlite-full | sqlite-normal)
      start_clbchat "$run" "sqlite://$WORK/$run/clbchat.db" "${run#sqlite-}"
      [ "${DROP_EVENTS_INDEX:-}" = 1 ] && drop_events_index "$WORK/$run/clbchat.db"
      profile "$run" clbchat "ws://127.0.0.1:$PORT/ws" --setup-link "$LINK"
      ;;
    postgres)
      PG_DB="clbchat_profile_$$"
      psql "$PG_ADMIN" -qc "drop database if exists $PG_DB" -c "create database $PG_DB" >/dev/null
      start_clbchat postgres "${PG_ADMIN%/*}/$PG_DB" full
      profile postgres clbchat "ws://127.0.0.1:$PORT/ws" --setup-link "$LINK"
      stop_server
      psql "$PG_ADMIN" -qc "drop database if exists $PG_DB with (force)" >/dev/null || true
      ;;
    *)
      echo "unknown run '$run' (relay, relay-ack, relay-durable, relay-by-chat, memory, sqlite-full, sqlite-normal, postgres)" >&2
      exit 2
      ;;
  esac
  stop_server
done
