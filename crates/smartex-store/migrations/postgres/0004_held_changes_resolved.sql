-- Held changes can be resolved (issue 17): a person accepts or dismisses a
-- change the tracker held for review (decision 'unexpected'). The decision is
-- a row of its own in the append-only event log (decision 'accepted' or
-- 'dismissed'), never an update of the held row: it repeats the held
-- observation (status, time, source, amounts), names the row it resolves
-- (unique: a held change is resolved at most once, whoever races), who
-- decided (free text: an operator's name, "cli:alice") and when (our clock).
-- Its source stays the observation's ('ipn' or 'poll'): the status was still
-- reported by the platform, and the CHECK on `source` (0001) cannot change in
-- SQLite without rebuilding the append-only table; the decision and
-- `decided_by` say that a person made it current. An accepted change's
-- outbox item carries `decided_by` too, for the business step.

ALTER TABLE events ADD COLUMN resolves_event_id BIGINT REFERENCES events (id);
ALTER TABLE events ADD COLUMN decided_by TEXT;
ALTER TABLE events ADD COLUMN decided_at_ms BIGINT;

CREATE UNIQUE INDEX events_resolves ON events (resolves_event_id)
    WHERE resolves_event_id IS NOT NULL;
CREATE INDEX events_held ON events (id) WHERE decision = 'unexpected';

ALTER TABLE outbox ADD COLUMN decided_by TEXT;
