-- Blended chat's planned sessions (see clbchat_core::appointment). The join token is kept
-- only as its keyed hash. A trajectory is the set of appointments sharing `trajectory`; it
-- belongs to `centre`.
CREATE TABLE appointments (
    id             BLOB    NOT NULL PRIMARY KEY,
    desk           TEXT    NOT NULL,
    centre         TEXT    NOT NULL,
    trajectory     BLOB    NOT NULL,
    counsellor     TEXT    NOT NULL,
    stand_in       TEXT,
    client_name    TEXT    NOT NULL,
    note           TEXT,
    starts_at_ns   INTEGER NOT NULL,
    length_minutes INTEGER NOT NULL CHECK (length_minutes > 0),
    status         TEXT    NOT NULL CHECK (status IN ('planned', 'cancelled')),
    token_hash     TEXT    NOT NULL UNIQUE,
    conversation   BLOB,
    created_at_ns  INTEGER NOT NULL
) STRICT;
CREATE INDEX appointments_by_counsellor ON appointments (counsellor, starts_at_ns);
CREATE INDEX appointments_by_stand_in ON appointments (stand_in, starts_at_ns)
    WHERE stand_in IS NOT NULL;
CREATE INDEX appointments_by_trajectory ON appointments (trajectory, starts_at_ns);
CREATE INDEX appointments_by_start ON appointments (starts_at_ns);
