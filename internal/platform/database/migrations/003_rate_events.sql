-- Events counted by sliding-window limits (registrations and failed
-- sign-ins per client network), shared by every instance.
CREATE TABLE rate_events (
    id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX rate_events_key ON rate_events (bucket, key, at);
CREATE INDEX rate_events_at ON rate_events (at);
