-- Chat-met-je-CLB's tenants (see clbchat_core::centre): each centre has its own chatbox,
-- a desk whose id is the centre's. `origins` is a JSON array of the websites that may
-- embed the box.
CREATE TABLE centres (
    id            text NOT NULL PRIMARY KEY,
    name          text NOT NULL,
    origins       text NOT NULL,
    created_at_ns bigint NOT NULL
);
