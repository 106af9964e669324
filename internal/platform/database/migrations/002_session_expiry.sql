CREATE INDEX sessions_expiry ON sessions (expires_at);
