-- seq numbers messages in the order they were queued: one recipient's
-- messages are delivered one at a time, oldest first, even when several
-- were queued in the same millisecond. SQLite has no sequences: enqueue
-- writes MAX(seq) + 1, which is safe because SQLite writes one transaction
-- at a time.
ALTER TABLE outbox ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET seq = rowid;
CREATE INDEX outbox_seq ON outbox (seq);
CREATE INDEX outbox_recipient ON outbox (channel, recipient, status);
