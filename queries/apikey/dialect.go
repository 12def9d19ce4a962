package apikey

import (
	"time"

	"github.com/rustok/rustok/platform/database"
)

// dbTime returns t in the form db's timestamp columns take: text in
// database.FormatTime's form on SQLite (so that text order is time order),
// a UTC time on PostgreSQL.
func dbTime(db *database.DB, t time.Time) any {
	if db.Dialect() == database.SQLite {
		return database.FormatTime(t)
	}
	return t.UTC()
}
