-- smartex-store schema, PostgreSQL. Times are milliseconds since the Unix epoch.

CREATE TABLE orders (
    reference        TEXT    PRIMARY KEY NOT NULL,
    order_id         TEXT    UNIQUE,
    uid              TEXT,
    order_secret     TEXT,             -- 'plain:…' or 'xc20p:<key id>:<hex>'
    ipn_secret_kind  TEXT    NOT NULL CHECK (ipn_secret_kind IN ('derived', 'stored', 'none')),
    ipn_key_id       TEXT,
    ipn_secret       TEXT,
    status           TEXT,
    at_ms            BIGINT,
    window_ms        BIGINT  NOT NULL DEFAULT 0,
    source           TEXT CHECK (source IN ('ipn', 'poll')),
    is_final         BIGINT  NOT NULL DEFAULT 0,
    version          BIGINT  NOT NULL DEFAULT 0,
    created_at_ms    BIGINT  NOT NULL,
    updated_at_ms    BIGINT  NOT NULL,
    next_poll_at_ms  BIGINT,
    poll_attempts    BIGINT  NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until_ms   BIGINT 
);

CREATE INDEX orders_due ON orders (next_poll_at_ms) WHERE next_poll_at_ms IS NOT NULL;

CREATE TABLE events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference       TEXT    NOT NULL REFERENCES orders (reference),
    status          TEXT    NOT NULL,
    at_ms           BIGINT,
    window_ms       BIGINT  NOT NULL DEFAULT 0,
    source          TEXT    NOT NULL CHECK (source IN ('ipn', 'poll')),
    received_at_ms  BIGINT  NOT NULL,
    dedupe_key      TEXT    UNIQUE,
    decision        TEXT    NOT NULL,
    reason          TEXT,
    version         BIGINT  NOT NULL
);

CREATE INDEX events_by_reference ON events (reference, id);

-- The event log is append-only.
CREATE FUNCTION smartex_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only';
END
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION smartex_events_append_only();

CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         BIGINT  NOT NULL UNIQUE REFERENCES events (id),
    reference        TEXT    NOT NULL REFERENCES orders (reference),
    order_id         TEXT,
    previous_status  TEXT,
    status           TEXT    NOT NULL,
    source           TEXT    NOT NULL CHECK (source IN ('ipn', 'poll')),
    window_ms        BIGINT  NOT NULL DEFAULT 0,
    created_at_ms    BIGINT  NOT NULL,
    available_at_ms  BIGINT  NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until_ms   BIGINT,
    delivered_at_ms  BIGINT 
);

CREATE INDEX outbox_pending ON outbox (available_at_ms, id) WHERE delivered_at_ms IS NULL;
CREATE INDEX outbox_by_reference ON outbox (reference, id) WHERE delivered_at_ms IS NULL;
