-- Every read of the log reads `event_log` (issue 20). On SQLite it is the union of the
-- indexed log and its tail; PostgreSQL has no tail, so here it is the log itself.
CREATE VIEW event_log AS
    SELECT conversation, seq, at_ns, kind, has_text, body FROM events;
