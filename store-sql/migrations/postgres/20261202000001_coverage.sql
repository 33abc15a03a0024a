-- Coverage samples: a desk's staffing from `at_ns` on (see clbchat_core::statistics). No
-- staff names: counts only. A second sample at the same instant replaces the first.
CREATE TABLE coverage (
    desk        text    NOT NULL,
    at_ns       bigint  NOT NULL,
    open        boolean NOT NULL,
    counsellors integer NOT NULL CHECK (counsellors >= 0),
    medical     integer NOT NULL CHECK (medical >= 0 AND medical <= counsellors),
    minimum     integer NOT NULL CHECK (minimum >= 0),
    medical_wanted boolean NOT NULL,
    PRIMARY KEY (desk, at_ns)
);
CREATE INDEX coverage_by_time ON coverage (at_ns);
