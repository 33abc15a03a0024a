#!/usr/bin/env python3
"""Store-only probe (a measurement, not part of the build): what the index of the log by
chat costs SQLite's durable append path, and what the ways around it tried in issue 20 do
to an append's latency (benches/README.md, "the store alone"). Python's sqlite3 (the
SQLite of this Python, 3.40 on the project's machine; clbchat bundles its own), so that a
layout can be tried in minutes before it is built in store-sql.

A writer appends at a fixed rate from CHATS chats, group commit as clbchat does (every
append that arrived while the last batch was written is the next batch; one multi-row
INSERT; WAL, synchronous=FULL). An append's latency is from its arrival to the end of the
commit that holds it. Variants:
  index   the unique index on (conversation, seq) beside the table (clbchat today);
  passes  no index on the table; every PASS rows the writer adds the new rows' keys to a
          table keyed by (conversation, seq), in one transaction, between two batches;
  sliced  no index on the table; the writer keeps the keys of the rows not yet in the keys
          table in memory; every PASS rows it sorts them by chat and adds them to the keys
          table in SLICES transactions (a range of chats each), one between two batches;
  none    no index at all (the floor);
  twofile the appends go to a second file, hot.db, whose table has no index; a mover in a
          process of its own copies them every MOVE ms, sorted by chat, into the indexed
          table of the main file (in SLICES transactions spread over the next MOVE ms, each
          a range of chats; synchronous=FULL) and then tells the writer, which deletes what
          was moved from hot.db in its next batch.
A suffix +bg moves the write-ahead log's checkpoints off the writer (PASSIVE, every 100 ms,
on a connection of its own; the writer's own turned off, so the log may grow); +bg16k the
same with the writer's own kept at 16,000 pages (which bounds the log); +bg1k with the
writer's own at SQLite's default of 1,000; +bgcatch the writer's own off, and after each
checkpoint beside it the writer copies what came meanwhile itself, so the log starts over; @N after it checkpoints every N ms instead
of 100; +off leaves them out (the log grows; a floor).
Usage: python3 benches/probes/store_only.py VARIANT[+CHECKPOINTS[@MS]] [RATE] [SECONDS]
       [PASS] [SLICES] [MOVE]  (defaults: 12740 appends/s, 10 s, 8192 rows, 16 slices,
       500 ms)
"""
import multiprocessing, os, random, shutil, sqlite3, sys, tempfile, threading, time

variant, _, checkpoints = sys.argv[1].partition("+")
checkpoints, _, every_ms = checkpoints.partition("@")
EVERY = float(every_ms or 100) / 1000
RATE = float(sys.argv[2]) if len(sys.argv) > 2 else 12740
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 10
PASS = int(sys.argv[4]) if len(sys.argv) > 4 else 8192
SLICES = int(sys.argv[5]) if len(sys.argv) > 5 else 16
MOVE = float(sys.argv[6]) / 1000 if len(sys.argv) > 6 else 0.5
CHATS, HISTORY, BODY = 4000, 40, "x" * 300

d = tempfile.mkdtemp(prefix="clbchat-probe-")
db = sqlite3.connect(os.path.join(d, "p.db"), isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("""CREATE TABLE events (id INTEGER PRIMARY KEY, conversation BLOB NOT NULL,
    seq INTEGER NOT NULL, at_ns INTEGER NOT NULL, kind TEXT NOT NULL,
    has_text INTEGER NOT NULL, body TEXT NOT NULL) STRICT""")
if variant == "index":
    db.execute("CREATE UNIQUE INDEX events_by_conversation ON events (conversation, seq)")
if variant in ("passes", "sliced"):
    db.execute("""CREATE TABLE event_keys (conversation BLOB NOT NULL, seq INTEGER NOT NULL,
        id INTEGER NOT NULL, PRIMARY KEY (conversation, seq)) STRICT, WITHOUT ROWID""")
chats = [os.urandom(16) for _ in range(CHATS)]
last = {c: 0 for c in chats}
INSERT = "INSERT INTO events (conversation, seq, at_ns, kind, has_text, body) VALUES (?,?,?,?,?,?)"

def rows_for(cs):
    out = []
    for c in cs:
        last[c] += 1
        out.append((c, last[c], 0, "message", 1, BODY))
    return out

# History: HISTORY events per chat, interleaved as in a real evening.
db.execute("BEGIN")
for _ in range(HISTORY):
    db.executemany(INSERT, rows_for(chats))
db.execute("COMMIT")
indexed_to = 0
if variant in ("passes", "sliced"):
    db.execute("INSERT INTO event_keys SELECT conversation, seq, id FROM events")
    indexed_to = db.execute("SELECT max(id) FROM events").fetchone()[0]
next_id = db.execute("SELECT max(id) FROM events").fetchone()[0] + 1
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
w = db  # the writer's connection
if variant == "twofile":
    db.execute("CREATE UNIQUE INDEX events_by_conversation ON events (conversation, seq)")
    db.execute("CREATE TABLE moved (one INTEGER PRIMARY KEY, through INTEGER NOT NULL) STRICT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    w = sqlite3.connect(os.path.join(d, "hot.db"), isolation_level=None)
    w.execute("PRAGMA journal_mode=WAL")
    w.execute("PRAGMA synchronous=FULL")
    w.execute("""CREATE TABLE hot (id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation BLOB NOT NULL, seq INTEGER NOT NULL, at_ns INTEGER NOT NULL,
        kind TEXT NOT NULL, has_text INTEGER NOT NULL, body TEXT NOT NULL) STRICT""")
    INSERT = INSERT.replace("INTO events", "INTO hot")

def mover(pipe, stop):
    """twofile: copies hot.db's new rows, sorted by chat, into the main file's indexed table."""
    hot = sqlite3.connect(os.path.join(d, "hot.db"), isolation_level=None)
    main = sqlite3.connect(os.path.join(d, "p.db"), isolation_level=None)
    main.execute(f"PRAGMA synchronous={os.environ.get('MAIN_SYNC', 'FULL')}")
    moved, took = 0, []
    while not stop.wait(MOVE):
        rows = hot.execute("SELECT id, conversation, seq, at_ns, kind, has_text, body FROM hot "
                           "WHERE id > ? ORDER BY conversation, seq", (moved,)).fetchall()
        if not rows:
            continue
        top = max(r[0] for r in rows)
        n = -(-len(rows) // SLICES)
        began = time.perf_counter()
        for k, i in enumerate(range(0, len(rows), n)):
            if k:  # the slices of one move spread over its period
                stop.wait(max(0.0, began + MOVE * k / SLICES - time.perf_counter()))
            t = time.perf_counter()
            main.execute("BEGIN")
            main.executemany("INSERT INTO events (conversation, seq, at_ns, kind, has_text, "
                             "body) VALUES (?,?,?,?,?,?)", [r[1:] for r in rows[i:i + n]])
            if i + n >= len(rows):
                main.execute("INSERT OR REPLACE INTO moved VALUES (1, ?)", (top,))
            main.execute("COMMIT")
            took.append(time.perf_counter() - t)
        moved = top
        pipe.send(top)
    pipe.send(("done", took, time.process_time()))

if checkpoints in ("bg", "off", "bgcatch"):
    w.execute("PRAGMA wal_autocheckpoint=0")
if checkpoints == "bg16k":
    w.execute("PRAGMA wal_autocheckpoint=16000")
stop, caught_up = threading.Event(), threading.Event()
def checkpointer():
    c = sqlite3.connect(os.path.join(d, "hot.db" if variant == "twofile" else "p.db"),
                        isolation_level=None)
    c.execute("PRAGMA synchronous=FULL")
    while not stop.wait(EVERY):
        c.execute("PRAGMA wal_checkpoint(PASSIVE)")
        caught_up.set()
if checkpoints.startswith("bg"):
    threading.Thread(target=checkpointer, daemon=True).start()
latencies, passes = [], []
if variant == "twofile":
    to_writer, to_mover = multiprocessing.Pipe()
    stop_moving = multiprocessing.Event()
    moving = multiprocessing.Process(target=mover, args=(to_mover, stop_moving))
    moving.start()
moved_through = 0  # twofile: the last hot row the mover has copied
pending, slices = [], []  # sliced: keys not yet in event_keys; sorted keys of a pass, in slices
start = time.perf_counter()
cpu0 = time.process_time()
arrived = 0  # appends that have arrived so far
written = 0
while True:
    now = time.perf_counter() - start
    if now >= SECONDS:
        break
    due = int(now * RATE)
    if due == arrived:
        time.sleep(max(0.0, (arrived + 1) / RATE - now))
        continue
    batch = range(arrived, due)
    arrived = due
    w.execute("BEGIN")
    rows = rows_for(random.choice(chats) for _ in batch)
    w.executemany(INSERT, rows)
    if variant == "twofile":
        told = None
        while to_writer.poll():
            told = to_writer.recv()
        if told is not None:
            w.execute("DELETE FROM hot WHERE id <= ?", (told,))
            moved_through = told
    w.execute("COMMIT")
    if variant == "sliced":
        # Only this writer appends, so the rowids are the next ones in order.
        pending.extend((r[0], r[1], next_id + i) for i, r in enumerate(rows))
        next_id += len(rows)
    done = time.perf_counter() - start
    latencies.extend(done - i / RATE for i in batch)
    written += len(batch)
    if variant == "passes":
        top = db.execute("SELECT max(id) FROM events").fetchone()[0]
        if top - indexed_to >= PASS:
            t = time.perf_counter()
            db.execute("BEGIN")
            db.execute("INSERT INTO event_keys SELECT conversation, seq, id FROM events "
                       "WHERE id > ? AND id <= ?", (indexed_to, top))
            db.execute("COMMIT")
            indexed_to = top
            passes.append(time.perf_counter() - t)
    if checkpoints == "bgcatch" and caught_up.is_set():
        # The checkpoint beside the writer copied all but what came meanwhile: the writer
        # copies the rest, so the log can start over at its next write.
        caught_up.clear()
        t = time.perf_counter()
        w.execute("PRAGMA wal_checkpoint(PASSIVE)")
        passes.append(time.perf_counter() - t)
    if variant == "sliced":
        if not slices and len(pending) >= PASS:
            pending.sort()
            n = -(-len(pending) // SLICES)
            slices = [pending[i:i + n] for i in range(0, len(pending), n)]
            pending = []
        if slices:
            t = time.perf_counter()
            db.execute("BEGIN")
            db.executemany("INSERT INTO event_keys VALUES (?,?,?)", slices.pop(0))
            db.execute("COMMIT")
            passes.append(time.perf_counter() - t)
stop.set()
cpu = time.process_time() - cpu0
wal = os.path.getsize(os.path.join(d, "hot.db-wal" if variant == "twofile" else "p.db-wal"))
if variant == "twofile":
    stop_moving.set()
    while True:
        m = to_writer.recv()
        if isinstance(m, tuple):
            break
    _, passes, mover_cpu = m
    moving.join()
    behind = w.execute("SELECT count(*) FROM hot WHERE id > ?", (moved_through,)).fetchone()[0]
    print(f"twofile: mover CPU {1e6 * mover_cpu / written:.1f} µs per append, "
          f"{behind} rows not yet moved at the end, main log "
          f"{os.path.getsize(os.path.join(d, 'p.db-wal')) / 2**20:.0f} MiB")
latencies.sort()
q = lambda p: 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]
print(f"{sys.argv[1]}: {written} appends at {RATE:.0f}/s, p50 {q(0.5):.2f} ms, p99 {q(0.99):.2f} ms, "
      f"p99.9 {q(0.999):.2f} ms, max {1000 * latencies[-1]:.1f} ms, CPU {1e6 * cpu / written:.1f} µs per append"
      + f", log {wal / 2**20:.0f} MiB"
      + (f", {len(passes)} passes (or slices or moves) of {PASS} rows, longest {1000 * max(passes):.1f} ms" if passes else ""))
db.close()
shutil.rmtree(d)
