-- Feedback on a chat (a counsellor's question, a coordinator's answer), one per chat. Both
-- texts are sealed with the chat's key (see store-sql/src/seal.rs) and go with its
-- transcript. `changed_at_ns` orders the lists.
CREATE TABLE feedback (
    conversation  BLOB    NOT NULL PRIMARY KEY,
    desk          TEXT    NOT NULL,
    counsellor    TEXT    NOT NULL,
    asked_at_ns   INTEGER,
    question      TEXT,
    written_by    TEXT,
    written_at_ns INTEGER,
    text          TEXT,
    changed_at_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX feedback_by_desk ON feedback (desk, changed_at_ns);
CREATE INDEX feedback_by_counsellor ON feedback (counsellor, changed_at_ns);

-- Erasures on a visitor's request: that one happened, by whom, when, at which desk; nothing
-- of what was erased.
CREATE TABLE erasures (
    desk     TEXT    NOT NULL,
    by_staff TEXT    NOT NULL,
    at_ns    INTEGER NOT NULL
) STRICT;
CREATE INDEX erasures_by_desk ON erasures (desk, at_ns);
