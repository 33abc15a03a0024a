-- Feedback on a chat (a counsellor's question, a coordinator's answer), one per chat. Both
-- texts are sealed with the chat's key (see store-sql/src/seal.rs) and go with its
-- transcript. `changed_at_ns` orders the lists.
CREATE TABLE feedback (
    conversation  uuid    NOT NULL PRIMARY KEY,
    desk          text    NOT NULL,
    counsellor    text    NOT NULL,
    asked_at_ns   bigint,
    question      text,
    written_by    text,
    written_at_ns bigint,
    text          text,
    changed_at_ns bigint NOT NULL
);
CREATE INDEX feedback_by_desk ON feedback (desk, changed_at_ns);
CREATE INDEX feedback_by_counsellor ON feedback (counsellor, changed_at_ns);

-- Erasures on a visitor's request: that one happened, by whom, when, at which desk; nothing
-- of what was erased.
CREATE TABLE erasures (
    desk     text    NOT NULL,
    by_staff text    NOT NULL,
    at_ns    bigint NOT NULL
);
CREATE INDEX erasures_by_desk ON erasures (desk, at_ns);
