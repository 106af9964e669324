-- Two-factor sign-in (SPEC §8). The authenticator key is stored sealed
-- (AES-GCM, key derived from the app secret, bound to the user); the
-- pending key is the one the setup page shows until a code confirms it.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending_secret TEXT;
-- The last time step accepted, so no step is accepted twice.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
-- The number SMS two-factor was turned on for: SMS is usable only while
-- it is still the user's confirmed number.
ALTER TABLE users ADD COLUMN two_factor_phone TEXT;
-- Part of every "remember this browser" token; a new value forgets them all.
ALTER TABLE users ADD COLUMN two_factor_remember_key TEXT NOT NULL DEFAULT '';

-- Recovery codes: only a keyed hash of each is kept.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
