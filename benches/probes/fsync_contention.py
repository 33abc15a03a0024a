#!/usr/bin/env python3
"""fsync under contention (a measurement, not part of the build): how long a group commit's
flush takes on this machine's disk while other pages of the same disk are written at random
places and flushed, as the checkpoints of an index by chat must (benches/README.md, "The
disk's own ceiling").

A writer appends 12 KiB (one batch of about 40 messages) to a log file and flushes it
(fsync), every 3 ms, for SECONDS. Beside it, a thread writes PAGES pages of 4 KiB at random
places of a 600 MiB file every PERIOD seconds, in SLICES pieces spread over the period, each
piece flushed. PAGES 0 is the disk alone. The latency of each of the writer's flushes is
reported (p50, p99, p99.9, max).

What a layout of the log implies for PAGES: an index by chat whose pages are written in place
writes one page per message it changes in a different place (at 12,740 messages a second
from 4,000 chats, up to 12,740 pages a second); keys sorted by chat before they are added
write at most one page per chat per pass (4,000 per pass).

Usage: python3 benches/probes/fsync_contention.py PAGES [SLICES] [PERIOD] [SECONDS]
       (defaults: 1 slice, every 1 s, for 10 s)
"""
import os, random, shutil, sys, tempfile, threading, time

PAGES = int(sys.argv[1])
SLICES = int(sys.argv[2]) if len(sys.argv) > 2 else 1
PERIOD = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
FILE_PAGES = 600 << 8  # 600 MiB in 4 KiB pages

# Beside the project's checkout, on the disk its database would be on (not a tmpfs /tmp).
d = tempfile.mkdtemp(prefix="clbchat-fsync-", dir=os.path.dirname(os.path.abspath(__file__)))
try:
    other = os.open(os.path.join(d, "pages"), os.O_WRONLY | os.O_CREAT)
    os.ftruncate(other, FILE_PAGES << 12)
    stop, page = threading.Event(), os.urandom(4096)

    def beside():
        while not stop.is_set():
            began = time.perf_counter()
            for s in range(SLICES):
                for _ in range(PAGES // SLICES):
                    os.pwrite(other, page, random.randrange(FILE_PAGES) << 12)
                os.fsync(other)
                stop.wait(max(0.0, began + PERIOD * (s + 1) / SLICES - time.perf_counter()))

    if PAGES:
        threading.Thread(target=beside, daemon=True).start()
    log = os.open(os.path.join(d, "log"), os.O_WRONLY | os.O_CREAT)
    LOG_BYTES = 100 << 20  # written once first, then overwritten in turn, as a reused log is
    os.pwrite(log, b"\0" * LOG_BYTES, 0)
    os.fsync(log)
    batch, at, took = os.urandom(12 * 1024), 0, []
    start = time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        t = time.perf_counter()
        os.pwrite(log, batch, at % LOG_BYTES)
        os.fsync(log)
        took.append(time.perf_counter() - t)
        at += len(batch)
        time.sleep(0.003)
    stop.set()
    took.sort()
    n = len(took)
    q = lambda p: 1000 * took[min(n - 1, int(p * n))]
    print(f"{PAGES} random pages every {PERIOD:g} s in {SLICES} slice(s): {n} flushes of the log, "
          f"p50 {q(0.5):.2f} ms, p99 {q(0.99):.2f} ms, p99.9 {q(0.999):.2f} ms, max {1000 * took[-1]:.2f} ms")
finally:
    shutil.rmtree(d)
