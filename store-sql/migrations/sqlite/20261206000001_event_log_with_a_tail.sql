-- The log's tail (issue 20). An append lands in `events_tail`: rows in the order written,
-- with no index by chat and no key to the conversation, so a batch of appends from a
-- hundred chats changes a few pages at the end of one table instead of a page of the
-- index per chat (measured with a store-only program, 4,000 chats: two thirds of SQLite's
-- work per append was that index). The writer moves the tail into `events` in slices of
-- whole chats, sorted by chat, so each index page is changed once for several entries.
-- The writer alone knows which chats have rows here and their last number; the key by
-- chat and the key to the conversation still guard `events`. See `sqlite.rs`.
--
-- AUTOINCREMENT: a row id is never used twice, so an id the writer still remembers after
-- an erasure deleted its row can never name another chat's row.

CREATE TABLE events_tail (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation BLOB    NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    at_ns        INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    has_text     INTEGER NOT NULL CHECK (has_text IN (0, 1)),
    body         TEXT    NOT NULL
) STRICT;

-- Every read of the log reads this view: the indexed log and its tail.
CREATE VIEW event_log AS
    SELECT conversation, seq, at_ns, kind, has_text, body FROM events
    UNION ALL
    SELECT conversation, seq, at_ns, kind, has_text, body FROM events_tail;
