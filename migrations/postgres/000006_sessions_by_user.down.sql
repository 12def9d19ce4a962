DROP INDEX rm_sessions_user_idx;
