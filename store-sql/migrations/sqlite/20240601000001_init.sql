-- clbchat schema, SQLite. Instants are INTEGER nanoseconds since the Unix epoch (UTC), so
-- they round-trip exactly and compare and subtract in plain SQL. Ids are UUIDs as 16-byte BLOBs.
-- Enumerations are their snake_case names; nested values (profile, identity, calendar, event
-- bodies, topic and result lists) are JSON text. See docs/storage.md.

CREATE TABLE conversations (
    id                BLOB    NOT NULL PRIMARY KEY,
    desk              TEXT    NOT NULL,
    pseudonym         TEXT,
    profile           TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('waiting', 'active', 'ended')),
    counsellor        TEXT,
    arrived_at_ns     INTEGER NOT NULL,
    started_at_ns     INTEGER,
    ended_at_ns       INTEGER,
    end_reason        TEXT,
    resume_token_hash TEXT    NOT NULL
) STRICT;
CREATE INDEX conversations_by_arrival ON conversations (arrived_at_ns);
CREATE INDEX conversations_by_desk ON conversations (desk, arrived_at_ns);
CREATE INDEX conversations_by_pseudonym ON conversations (pseudonym, arrived_at_ns)
    WHERE pseudonym IS NOT NULL;
CREATE INDEX conversations_by_end ON conversations (ended_at_ns) WHERE ended_at_ns IS NOT NULL;

-- The log: append-only, numbered 1, 2, 3... per conversation; the key forbids repeats.
CREATE TABLE events (
    conversation BLOB    NOT NULL REFERENCES conversations (id),
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    at_ns        INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    has_text     INTEGER NOT NULL CHECK (has_text IN (0, 1)),
    body         TEXT    NOT NULL,
    PRIMARY KEY (conversation, seq)
) STRICT, WITHOUT ROWID;

-- One row per staff read of a transcript: who, when, which conversation, why.
CREATE TABLE transcript_reads (
    id           INTEGER NOT NULL PRIMARY KEY,
    conversation BLOB    NOT NULL REFERENCES conversations (id),
    reader       TEXT    NOT NULL,
    at_ns        INTEGER NOT NULL,
    purpose      TEXT    NOT NULL CHECK (length(trim(purpose)) > 0)
) STRICT;
CREATE INDEX transcript_reads_by_conversation ON transcript_reads (conversation, at_ns);

CREATE TABLE registrations (
    conversation     BLOB    NOT NULL PRIMARY KEY,
    desk             TEXT    NOT NULL,
    counsellor       TEXT    NOT NULL,
    client_type      TEXT    NOT NULL,
    age              INTEGER,
    gender           TEXT,
    topics           TEXT    NOT NULL,
    results          TEXT    NOT NULL,
    found_via        TEXT,
    fake_call        INTEGER NOT NULL CHECK (fake_call IN (0, 1)),
    registered_at_ns INTEGER NOT NULL
) STRICT;

CREATE TABLE ratings (
    conversation BLOB    NOT NULL PRIMARY KEY,
    desk         TEXT    NOT NULL,
    stars        INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment      TEXT,
    rated_at_ns  INTEGER NOT NULL
) STRICT;

CREATE TABLE flags (
    id            BLOB    NOT NULL PRIMARY KEY,
    pseudonym     TEXT    NOT NULL,
    desk          TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    conversation  BLOB,
    raised_by     TEXT,
    reviewed_by   TEXT,
    created_at_ns INTEGER NOT NULL,
    expires_at_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX flags_by_pseudonym ON flags (pseudonym, created_at_ns);
CREATE INDEX flags_by_status ON flags (status, created_at_ns);

CREATE TABLE accounts (
    username      TEXT    NOT NULL PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    active        INTEGER NOT NULL CHECK (active IN (0, 1)),
    identity      TEXT    NOT NULL
) STRICT;

CREATE TABLE calendars (
    desk     TEXT NOT NULL PRIMARY KEY,
    calendar TEXT NOT NULL
) STRICT;
