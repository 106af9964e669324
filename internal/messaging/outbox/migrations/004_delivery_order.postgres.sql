-- seq numbers messages in the order they were queued: one recipient's
-- messages are delivered one at a time, oldest first, even when several
-- were queued in the same millisecond.
ALTER TABLE outbox ADD COLUMN seq BIGSERIAL;
CREATE INDEX outbox_recipient ON outbox (channel, recipient, status);
