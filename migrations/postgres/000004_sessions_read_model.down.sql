DROP TABLE IF EXISTS rm_sessions;
