-- Coverage samples: a desk's staffing from `at_ns` on (see clbchat_core::statistics). No
-- staff names: counts only. A second sample at the same instant replaces the first.
CREATE TABLE coverage (
    desk        TEXT    NOT NULL,
    at_ns       INTEGER NOT NULL,
    open        INTEGER NOT NULL CHECK (open IN (0, 1)),
    counsellors INTEGER NOT NULL CHECK (counsellors >= 0),
    medical     INTEGER NOT NULL CHECK (medical >= 0 AND medical <= counsellors),
    minimum     INTEGER NOT NULL CHECK (minimum >= 0),
    medical_wanted INTEGER NOT NULL CHECK (medical_wanted IN (0, 1)),
    PRIMARY KEY (desk, at_ns)
) STRICT, WITHOUT ROWID;
CREATE INDEX coverage_by_time ON coverage (at_ns);
