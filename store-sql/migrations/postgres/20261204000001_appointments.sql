-- Blended chat's planned sessions (see clbchat_core::appointment). The join token is kept
-- only as its keyed hash. A trajectory is the set of appointments sharing `trajectory`; it
-- belongs to `centre`.
CREATE TABLE appointments (
    id             uuid    NOT NULL PRIMARY KEY,
    desk           text    NOT NULL,
    centre         text    NOT NULL,
    trajectory     uuid    NOT NULL,
    counsellor     text    NOT NULL,
    stand_in       text,
    client_name    text    NOT NULL,
    note           text,
    starts_at_ns   bigint  NOT NULL,
    length_minutes integer NOT NULL CHECK (length_minutes > 0),
    status         text    NOT NULL CHECK (status IN ('planned', 'cancelled')),
    token_hash     text    NOT NULL UNIQUE,
    conversation   uuid,
    created_at_ns  bigint  NOT NULL
);
CREATE INDEX appointments_by_counsellor ON appointments (counsellor, starts_at_ns);
CREATE INDEX appointments_by_stand_in ON appointments (stand_in, starts_at_ns)
    WHERE stand_in IS NOT NULL;
CREATE INDEX appointments_by_trajectory ON appointments (trajectory, starts_at_ns);
CREATE INDEX appointments_by_start ON appointments (starts_at_ns);
