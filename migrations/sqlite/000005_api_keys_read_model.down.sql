DROP TABLE IF EXISTS api_key_usage;
DROP TABLE IF EXISTS rm_api_keys;
