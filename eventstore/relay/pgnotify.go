package relay

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"github.com/rustok/rustok/platform/database"
)

var nonIdent = regexp.MustCompile(`[^a-z0-9_]`)

// ChannelName is the NOTIFY channel for a database schema: NOTIFY is
// database-wide, so each schema (each test, each deployment sharing a
// database) gets its own channel.
func ChannelName(schema string) string {
	if schema == "" || schema == "public" {
		return "rustok_events"
	}
	return "rustok_events_" + nonIdent.ReplaceAllString(schema, "_")
}

// Notifier sends NOTIFY after commits so that other processes wake up. Calls
// are coalesced: however many commits happen while one NOTIFY is being sent,
// at most one more follows. It never runs inside the appending transaction
// (that cut commit throughput by ~40%, see STACK-NOTES).
type Notifier struct {
	db      *database.DB
	channel string
	kick    chan struct{}
	logger  *slog.Logger
}

// NewNotifier returns a Notifier for db (PostgreSQL) on channel.
func NewNotifier(db *database.DB, channel string, logger *slog.Logger) *Notifier {
	return &Notifier{db: db, channel: channel, kick: make(chan struct{}, 1), logger: logger}
}

// Notify asks for a NOTIFY soon. It never blocks.
func (n *Notifier) Notify() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Run sends the requested NOTIFYs until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		if _, err := n.db.ExecContext(ctx, `SELECT pg_notify($1, '')`, n.channel); err != nil && ctx.Err() == nil {
			n.logger.Warn("relay: NOTIFY failed; consumers in other processes fall back to polling", "error", err)
		}
	}
}

// Listen LISTENs on channel over a dedicated connection to dsn and calls
// onNotify for each notification, reconnecting after failures, until ctx ends.
func Listen(ctx context.Context, dsn, channel string, onNotify func(), logger *slog.Logger) error {
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				return nil, fmt.Errorf("listen connection: %w", err)
			}
			return c, nil
		},
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				logger.Warn("relay: LISTEN connection failed; retrying", "error", err)
			}
		},
		ReconnectDelay: 2 * time.Second,
	}
	l.Handle(channel, pgxlisten.HandlerFunc(func(context.Context, *pgconn.Notification, *pgx.Conn) error {
		onNotify()
		return nil
	}))
	err := l.Listen(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
