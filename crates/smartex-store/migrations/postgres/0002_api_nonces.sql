-- The last `time` nonce issued for each API key, shared by every instance
-- (smartex_store::StoreNonces). Issuing happens under a per-key advisory lock.

CREATE TABLE api_nonces (
    api_key        TEXT    PRIMARY KEY NOT NULL,
    unit           TEXT    NOT NULL CHECK (unit IN ('ms', 's')),
    last_nonce     BIGINT  NOT NULL CHECK (last_nonce > 0),
    updated_at_ms  BIGINT  NOT NULL
);
