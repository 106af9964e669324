-- Pending phone verification codes: one per (user, purpose). Only a keyed
-- HMAC of the code, bound to (purpose, user, number), is stored.
CREATE TABLE phone_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    phone_number TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    consumed_at BIGINT,
    PRIMARY KEY (user_id, purpose)
);

-- Every code sent, for the per-number and per-IP hourly caps.
CREATE TABLE phone_sends (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    phone_number TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX phone_sends_number ON phone_sends (phone_number, at);
CREATE INDEX phone_sends_ip ON phone_sends (client_ip, at);

-- Failed confirmations, for the per-user lockout.
CREATE TABLE phone_failures (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX phone_failures_user ON phone_failures (user_id, at);

ALTER TABLE users ADD COLUMN phone_locked_until BIGINT;
