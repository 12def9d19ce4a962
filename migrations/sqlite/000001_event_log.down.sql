DROP TABLE IF EXISTS dead_letters;
DROP TABLE IF EXISTS consumer_offsets;
DROP TABLE IF EXISTS reservations;
DROP TABLE IF EXISTS events;
