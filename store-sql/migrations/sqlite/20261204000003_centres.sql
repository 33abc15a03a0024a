-- Chat-met-je-CLB's tenants (see clbchat_core::centre): each centre has its own chatbox,
-- a desk whose id is the centre's. `origins` is a JSON array of the websites that may
-- embed the box.
CREATE TABLE centres (
    id            TEXT NOT NULL PRIMARY KEY,
    name          TEXT NOT NULL,
    origins       TEXT NOT NULL,
    created_at_ns INTEGER NOT NULL
) STRICT;
