-- The last `time` nonce issued for each API key, shared by every process on
-- the file (smartex_store::StoreNonces). Issuing happens under the write lock.

CREATE TABLE api_nonces (
    api_key        TEXT    PRIMARY KEY NOT NULL,
    unit           TEXT    NOT NULL CHECK (unit IN ('ms', 's')),
    last_nonce     INTEGER NOT NULL CHECK (last_nonce > 0),
    updated_at_ms  INTEGER NOT NULL
);
