-- Paid means paid (issue 17): the newest signed change of each order (IPNs
-- are ordered among themselves by their signed time, so a genuine change is
-- never judged against a poll's wide window alone), the amounts of every
-- change exactly as received, what was expected of the order, and whether an
-- outbox item is the order's current status or history the status has moved
-- past. Amounts are text: the exact digits received, never a float.

ALTER TABLE orders ADD COLUMN signed_status TEXT;
ALTER TABLE orders ADD COLUMN signed_at_ms INTEGER;
ALTER TABLE orders ADD COLUMN signed_window_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN asked_amount TEXT;
ALTER TABLE orders ADD COLUMN expected_in_amount TEXT;
ALTER TABLE orders ADD COLUMN expected_out_amount TEXT;
ALTER TABLE orders ADD COLUMN expected_from TEXT;
ALTER TABLE orders ADD COLUMN expected_to TEXT;

ALTER TABLE events ADD COLUMN in_amount TEXT;
ALTER TABLE events ADD COLUMN out_amount TEXT;
ALTER TABLE events ADD COLUMN xml_from TEXT;
ALTER TABLE events ADD COLUMN xml_to TEXT;

ALTER TABLE outbox ADD COLUMN is_current INTEGER NOT NULL DEFAULT 1;
ALTER TABLE outbox ADD COLUMN in_amount TEXT;
ALTER TABLE outbox ADD COLUMN out_amount TEXT;
ALTER TABLE outbox ADD COLUMN xml_from TEXT;
ALTER TABLE outbox ADD COLUMN xml_to TEXT;
ALTER TABLE outbox ADD COLUMN expected_in_amount TEXT;
ALTER TABLE outbox ADD COLUMN expected_out_amount TEXT;
ALTER TABLE outbox ADD COLUMN expected_from TEXT;
ALTER TABLE outbox ADD COLUMN expected_to TEXT;

-- An order whose known status was set by an IPN: that IPN is its newest
-- signed change.
UPDATE orders SET signed_status = status, signed_at_ms = at_ms, signed_window_ms = window_ms
    WHERE source = 'ipn' AND status IS NOT NULL AND at_ms IS NOT NULL;
