-- Why a failed message failed, in provider-neutral words
-- (messaging.FailureKind: invalid-recipient, unreachable, blocked, rejected,
-- other); '' while the message is not failed. error_code keeps the
-- provider's own code for operators.
ALTER TABLE outbox ADD COLUMN failure_kind TEXT NOT NULL DEFAULT '';
