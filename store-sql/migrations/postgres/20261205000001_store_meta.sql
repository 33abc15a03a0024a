-- What the store records about itself: `key_file`, the id of the key file whose keys seal
-- this database's text (see store-sql/src/seal.rs).
CREATE TABLE store_meta (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
