-- smartex-store schema, SQLite. Times are milliseconds since the Unix epoch.

CREATE TABLE orders (
    reference        TEXT    PRIMARY KEY NOT NULL,
    order_id         TEXT    UNIQUE,
    uid              TEXT,
    order_secret     TEXT,             -- 'plain:…' or 'xc20p:<key id>:<hex>'
    ipn_secret_kind  TEXT    NOT NULL CHECK (ipn_secret_kind IN ('derived', 'stored', 'none')),
    ipn_key_id       TEXT,
    ipn_secret       TEXT,
    status           TEXT,
    at_ms            INTEGER,
    window_ms        INTEGER NOT NULL DEFAULT 0,
    source           TEXT CHECK (source IN ('ipn', 'poll')),
    is_final         INTEGER NOT NULL DEFAULT 0,
    version          INTEGER NOT NULL DEFAULT 0,
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    next_poll_at_ms  INTEGER,
    poll_attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until_ms   INTEGER
);

CREATE INDEX orders_due ON orders (next_poll_at_ms) WHERE next_poll_at_ms IS NOT NULL;

CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    reference       TEXT    NOT NULL REFERENCES orders (reference),
    status          TEXT    NOT NULL,
    at_ms           INTEGER,
    window_ms       INTEGER NOT NULL DEFAULT 0,
    source          TEXT    NOT NULL CHECK (source IN ('ipn', 'poll')),
    received_at_ms  INTEGER NOT NULL,
    dedupe_key      TEXT    UNIQUE,
    decision        TEXT    NOT NULL,
    reason          TEXT,
    version         INTEGER NOT NULL
);

CREATE INDEX events_by_reference ON events (reference, id);

-- The event log is append-only.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         INTEGER NOT NULL UNIQUE REFERENCES events (id),
    reference        TEXT    NOT NULL REFERENCES orders (reference),
    order_id         TEXT,
    previous_status  TEXT,
    status           TEXT    NOT NULL,
    source           TEXT    NOT NULL CHECK (source IN ('ipn', 'poll')),
    window_ms        INTEGER NOT NULL DEFAULT 0,
    created_at_ms    INTEGER NOT NULL,
    available_at_ms  INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until_ms   INTEGER,
    delivered_at_ms  INTEGER
);

CREATE INDEX outbox_pending ON outbox (available_at_ms, id) WHERE delivered_at_ms IS NULL;
CREATE INDEX outbox_by_reference ON outbox (reference, id) WHERE delivered_at_ms IS NULL;
