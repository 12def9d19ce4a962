-- Every session of a user, revoked ones included, newest first: the
-- sessions that make up a user's history (GraphQL history(id) of a user).
CREATE INDEX rm_sessions_user_idx ON rm_sessions (tenant_id, user_id, started_at DESC, id DESC);
