-- clbchat schema, PostgreSQL. Instants are bigint nanoseconds since the Unix epoch (UTC), so
-- they round-trip exactly (timestamptz keeps microseconds) and compare and subtract in plain
-- SQL; `to_timestamp(x / 1e9)` turns one into a timestamptz for ad-hoc queries. Enumerations
-- are their snake_case names; nested values (profile, identity, calendar, event bodies, topic
-- and result lists) are JSON text. See docs/storage.md.

CREATE TABLE conversations (
    id                uuid    NOT NULL PRIMARY KEY,
    desk              text    NOT NULL,
    pseudonym         text,
    profile           text    NOT NULL,
    state             text    NOT NULL CHECK (state IN ('waiting', 'active', 'ended')),
    counsellor        text,
    arrived_at_ns     bigint  NOT NULL,
    started_at_ns     bigint,
    ended_at_ns       bigint,
    end_reason        text,
    resume_token_hash text    NOT NULL
);
CREATE INDEX conversations_by_arrival ON conversations (arrived_at_ns);
CREATE INDEX conversations_by_desk ON conversations (desk, arrived_at_ns);
CREATE INDEX conversations_by_pseudonym ON conversations (pseudonym, arrived_at_ns)
    WHERE pseudonym IS NOT NULL;
CREATE INDEX conversations_by_end ON conversations (ended_at_ns) WHERE ended_at_ns IS NOT NULL;

-- The log: append-only, numbered 1, 2, 3... per conversation; the key forbids repeats.
CREATE TABLE events (
    conversation uuid    NOT NULL REFERENCES conversations (id),
    seq          bigint  NOT NULL CHECK (seq >= 1),
    at_ns        bigint  NOT NULL,
    kind         text    NOT NULL,
    has_text     boolean NOT NULL,
    body         text    NOT NULL,
    PRIMARY KEY (conversation, seq)
);

-- One row per staff read of a transcript: who, when, which conversation, why.
CREATE TABLE transcript_reads (
    id           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation uuid    NOT NULL REFERENCES conversations (id),
    reader       text    NOT NULL,
    at_ns        bigint  NOT NULL,
    purpose      text    NOT NULL CHECK (length(trim(purpose)) > 0)
);
CREATE INDEX transcript_reads_by_conversation ON transcript_reads (conversation, at_ns);

CREATE TABLE registrations (
    conversation     uuid     NOT NULL PRIMARY KEY,
    desk             text     NOT NULL,
    counsellor       text     NOT NULL,
    client_type      text     NOT NULL,
    age              smallint,
    gender           text,
    topics           text     NOT NULL,
    results          text     NOT NULL,
    found_via        text,
    fake_call        boolean  NOT NULL,
    registered_at_ns bigint   NOT NULL
);

CREATE TABLE ratings (
    conversation uuid     NOT NULL PRIMARY KEY,
    desk         text     NOT NULL,
    stars        smallint NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment      text,
    rated_at_ns  bigint   NOT NULL
);

CREATE TABLE flags (
    id            uuid   NOT NULL PRIMARY KEY,
    pseudonym     text   NOT NULL,
    desk          text   NOT NULL,
    kind          text   NOT NULL,
    status        text   NOT NULL,
    conversation  uuid,
    raised_by     text,
    reviewed_by   text,
    created_at_ns bigint NOT NULL,
    expires_at_ns bigint NOT NULL
);
CREATE INDEX flags_by_pseudonym ON flags (pseudonym, created_at_ns);
CREATE INDEX flags_by_status ON flags (status, created_at_ns);

-- COLLATE "C": user names sort by bytes, as on SQLite and in memory, whatever the locale.
CREATE TABLE accounts (
    username      text COLLATE "C" NOT NULL PRIMARY KEY,
    password_hash text    NOT NULL,
    active        boolean NOT NULL,
    identity      text    NOT NULL
);

CREATE TABLE calendars (
    desk     text NOT NULL PRIMARY KEY,
    calendar text NOT NULL
);
