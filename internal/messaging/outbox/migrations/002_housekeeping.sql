CREATE INDEX outbox_wipe ON outbox (wipe_at);
CREATE INDEX outbox_created ON outbox (created_at);
