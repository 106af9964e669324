-- The hourly per-number and per-network caps on phone codes moved to the
-- platform's rate limiter (rate_events, buckets phone-number and
-- phone-network), whose reservations are exact across instances without
-- serialising unrelated users. Nothing reads phone_sends any more.
DROP TABLE phone_sends;
