-- What a person needs to recognise a session on the sessions page: the
-- browser (User-Agent, shown in words), the client IP at sign-in, when the
-- session was last used (written at most once a minute, in batches, off the
-- request path), and an opaque public id that pages use to name a session
-- for revoking, so neither the token nor its hash ever leaves the server.
-- Sessions started before this migration get their public id when first
-- listed (the id is random and made in Go, which both engines share).
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;
ALTER TABLE sessions ADD COLUMN public_id TEXT;
CREATE UNIQUE INDEX sessions_public_id ON sessions (public_id);
