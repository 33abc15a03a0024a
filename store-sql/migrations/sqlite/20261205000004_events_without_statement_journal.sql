-- A batch of appends without SQLite's statement journal (issue 20). A multi-row INSERT
-- inside a transaction that may stop half-way (an immediate foreign key, or a unique index
-- or CHECK with the default ABORT) makes SQLite copy every page it is about to change into
-- a temporary "statement journal" file first, so it can undo just that statement. The
-- append batch never needs that: any error rolls the whole transaction back. So the
-- batch's INSERT says `OR FAIL` (stop, keep nothing of this transaction once it is rolled
-- back) and the key to the conversation is checked at COMMIT (DEFERRABLE INITIALLY
-- DEFERRED): still checked, in the same transaction, but no statement can need undoing
-- on its own. Measured with a store-only program (4,000 chats, batches of 96 appends of
-- 350 bytes, synchronous=FULL): 170,000 pwrite calls and 500 temporary files per 50,000
-- appends before, 106,000 and none after. See docs/storage.md.
--
-- SQLite cannot change a column's constraint in place: the table is copied, in rowid
-- order, so the log stays in the order it was written.

CREATE TABLE events_checked_at_commit (
    id           INTEGER NOT NULL PRIMARY KEY,
    conversation BLOB    NOT NULL REFERENCES conversations (id) DEFERRABLE INITIALLY DEFERRED,
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    at_ns        INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    has_text     INTEGER NOT NULL CHECK (has_text IN (0, 1)),
    body         TEXT    NOT NULL
) STRICT;

INSERT INTO events_checked_at_commit (id, conversation, seq, at_ns, kind, has_text, body)
    SELECT id, conversation, seq, at_ns, kind, has_text, body FROM events ORDER BY id;

DROP TABLE events;
ALTER TABLE events_checked_at_commit RENAME TO events;
CREATE UNIQUE INDEX events_by_conversation ON events (conversation, seq);
