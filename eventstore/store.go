package eventstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/platform/database"
)

// Options configure a Store. Zero values take the defaults named per field.
type Options struct {
	// Now is the clock for recorded_at (default time.Now).
	Now func() time.Time
	// NewID returns a new event id (default UUIDv7).
	NewID func() (string, error)
	// Upcasters upgrade old payload versions on read (default none).
	Upcasters *Upcasters
	// OnCommit is called after every successful Append commit with the last
	// position, outside the transaction (used for wake-ups). Must not block.
	OnCommit func(position int64)
	// Registerer receives the append metrics (default: none registered).
	Registerer prometheus.Registerer
	// MaxEventsPerAppend bounds one Append (default 1000).
	MaxEventsPerAppend int
}

// Store appends to and reads from the event log. It is safe for concurrent use.
type Store struct {
	db      *database.DB
	d       dialect
	opts    Options
	metrics storeMetrics
	// insertSQLs caches the insert statement per number of events.
	insertSQLs sync.Map
}

type storeMetrics struct {
	appended  *prometheus.CounterVec
	duration  prometheus.Histogram
	conflicts prometheus.Counter
}

// New returns a Store over db, whose schema must be migrated.
func New(db *database.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("eventstore: nil database")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = newIDSource().newID
	}
	if opts.MaxEventsPerAppend <= 0 {
		opts.MaxEventsPerAppend = 1000
	}
	m := storeMetrics{
		appended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustok_events_appended_total", Help: "Events appended to the log, by event type.",
		}, []string{"type"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rustok_append_duration_seconds", Help: "Duration of Append transactions.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustok_append_conflicts_total", Help: "Appends refused because of a concurrency conflict or a taken reservation.",
		}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{m.appended, m.duration, m.conflicts} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("eventstore: register metrics: %w", err)
			}
		}
	}
	return &Store{db: db, d: dialectFor(db.Dialect()), opts: opts, metrics: m}, nil
}

// DB returns the database the store writes to.
func (s *Store) DB() *database.DB { return s.db }

// AppendOption adds reservations or metadata to an Append.
type AppendOption func(*appendRequest)

type appendRequest struct {
	meta    Metadata
	reserve []reservation
	release []reservation
}

type reservation struct{ scope, value string }

// WithMetadata sets the metadata of every appended event.
func WithMetadata(m Metadata) AppendOption { return func(r *appendRequest) { r.meta = m } }

// Reserve claims (scope, value) for the stream in the same transaction; if
// another stream holds it, Append fails with *ReservationError. Re-reserving a
// value the same stream already holds is allowed.
func Reserve(scope, value string) AppendOption {
	return func(r *appendRequest) { r.reserve = append(r.reserve, reservation{scope, value}) }
}

// Release frees (scope, value) if this stream holds it.
func Release(scope, value string) AppendOption {
	return func(r *appendRequest) { r.release = append(r.release, reservation{scope, value}) }
}

// Append writes events to the end of stream in one transaction, with any
// reservations and releases. expectedVersion is the stream version the caller
// decided on (NoStream for a new stream, AnyVersion to skip the check).
//
// It returns *ConflictError (errors.Is ErrConcurrencyConflict) when the stream
// moved on, *ReservationError (errors.Is ErrReserved) when a reservation is
// taken, and an error wrapping ErrInvalidAppend for an impossible request. On
// any error nothing is written.
func (s *Store) Append(ctx context.Context, stream Stream, expectedVersion int64, events []NewEvent, opts ...AppendOption) (Result, error) {
	var req appendRequest
	for _, o := range opts {
		o(&req)
	}
	if err := s.validate(stream, expectedVersion, events); err != nil {
		return Result{}, err
	}
	rows, err := s.encode(events, req.meta)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	var res Result
	for attempt := 1; ; attempt++ {
		res, err = s.appendOnce(ctx, stream, expectedVersion, rows, req)
		// With AnyVersion a lost race for the next version is not the caller's
		// conflict: try again at the new version, bounded, after a short
		// random pause once the races repeat (many writers on one hot stream
		// on a loaded machine lost ten in a row).
		if expectedVersion == AnyVersion && errors.Is(err, ErrConcurrencyConflict) && attempt < maxAnyVersionAttempts {
			if attempt >= 3 {
				if werr := sleepCtx(ctx, time.Duration(rand.Int64N(int64(attempt)*int64(time.Millisecond)))); werr != nil {
					return Result{}, fmt.Errorf("append %s: %w", stream, errors.Join(err, werr))
				}
			}
			continue
		}
		break
	}
	if err != nil {
		if errors.Is(err, ErrConcurrencyConflict) || errors.Is(err, ErrReserved) {
			s.metrics.conflicts.Inc()
		}
		return Result{}, fmt.Errorf("append %s: %w", stream, err)
	}
	s.metrics.duration.Observe(time.Since(start).Seconds())
	for _, e := range events {
		s.metrics.appended.WithLabelValues(e.Type).Inc()
	}
	if s.opts.OnCommit != nil {
		s.opts.OnCommit(res.Position)
	}
	return res, nil
}

// appendOnce makes one attempt. Without reservations the append is a single
// INSERT statement (atomic on its own: one round trip on PostgreSQL); with
// reservations it runs in a transaction.
func (s *Store) appendOnce(ctx context.Context, stream Stream, expected int64, rows []encodedEvent, req appendRequest) (Result, error) {
	if len(req.reserve) == 0 && len(req.release) == 0 {
		var res Result
		err := s.db.WithWriteGate(ctx, func() error {
			var err error
			res, err = s.insertEvents(ctx, s.db.DB, stream, expected, rows)
			return err
		})
		return res, err
	}
	tx, err := s.db.BeginWrite(ctx, nil)
	if err != nil {
		return Result{}, err
	}
	defer tx.Rollback()
	res, err := s.appendTx(ctx, tx.Tx, stream, expected, rows, req)
	if err != nil {
		return Result{}, err
	}
	if err := tx.Commit(); err != nil {
		return Result{}, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

func (s *Store) validate(stream Stream, expected int64, events []NewEvent) error {
	switch {
	case len(events) == 0:
		return fmt.Errorf("append %s: no events: %w", stream, ErrInvalidAppend)
	case len(events) > s.opts.MaxEventsPerAppend:
		return fmt.Errorf("append %s: %d events exceed the limit of %d: %w", stream, len(events), s.opts.MaxEventsPerAppend, ErrInvalidAppend)
	case stream.Type == "" || stream.ID == "":
		return fmt.Errorf("append %s: stream type and id are required: %w", stream, ErrInvalidAppend)
	case expected < AnyVersion:
		return fmt.Errorf("append %s: expected version %d: %w", stream, expected, ErrInvalidAppend)
	}
	for _, e := range events {
		if e.Type == "" || e.SchemaVersion < 1 {
			return fmt.Errorf("append %s: event needs a type and a schema version ≥ 1: %w", stream, ErrInvalidAppend)
		}
	}
	return nil
}

type encodedEvent struct {
	id       string
	typ      string
	schema   int
	payload  string
	metadata string
}

func (s *Store) encode(events []NewEvent, meta Metadata) ([]encodedEvent, error) {
	m := []byte("{}")
	if meta != (Metadata{}) {
		var err error
		if m, err = json.Marshal(meta); err != nil {
			return nil, fmt.Errorf("encode metadata: %w", err)
		}
	}
	out := make([]encodedEvent, len(events))
	for i, e := range events {
		var p []byte
		switch v := e.Payload.(type) {
		case json.RawMessage:
			// Only raw JSON needs checking: json.Marshal's output is valid.
			if !json.Valid(v) {
				return nil, fmt.Errorf("encode %s payload: invalid JSON: %w", e.Type, ErrInvalidAppend)
			}
			p = v
		case nil:
			p = []byte("{}")
		default:
			var err error
			if p, err = json.Marshal(v); err != nil {
				return nil, fmt.Errorf("encode %s payload: %w", e.Type, err)
			}
		}
		id, err := s.opts.NewID()
		if err != nil {
			return nil, fmt.Errorf("new event id: %w", err)
		}
		out[i] = encodedEvent{id: id, typ: e.Type, schema: e.SchemaVersion, payload: string(p), metadata: string(m)}
	}
	return out, nil
}

// appendTx writes the events, then the releases and reservations, in tx.
func (s *Store) appendTx(ctx context.Context, tx *sqlx.Tx, stream Stream, expected int64, rows []encodedEvent, req appendRequest) (Result, error) {
	res, err := s.insertEvents(ctx, tx, stream, expected, rows)
	if err != nil {
		return Result{}, err
	}
	now := s.d.now(s.opts.Now())
	for _, r := range req.release {
		q := tx.Rebind(`DELETE FROM reservations WHERE scope = ? AND value = ? AND stream_type = ? AND stream_id = ?`)
		if _, err := tx.ExecContext(ctx, q, r.scope, r.value, stream.Type, stream.ID); err != nil {
			return Result{}, fmt.Errorf("release %s %q: %w", r.scope, r.value, err)
		}
	}
	for _, r := range req.reserve {
		if err := s.reserve(ctx, tx, stream, r, now); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// execer runs statements: *sqlx.DB or *sqlx.Tx.
type execer interface {
	sqlx.QueryerContext
	Rebind(string) string
}

// insertEvents inserts the events with one statement that reads the stream's
// version and inserts only if it is the expected one. It must be the first
// write of its transaction, so that on PostgreSQL the transaction id (the
// relay's ordering key) is taken only after the version was read (STACK-NOTES).
// No row inserted means the version moved; a unique violation means a
// concurrent writer took the version first.
func (s *Store) insertEvents(ctx context.Context, q execer, stream Stream, expected int64, rows []encodedEvent) (Result, error) {
	now := s.d.now(s.opts.Now())
	args := make([]any, 0, 8+len(rows)*6)
	args = append(args, stream.Type, stream.ID, stream.Type, stream.ID, stream.TenantID, now)
	for i, r := range rows {
		// VALUES parameters are text on PostgreSQL; the CASTs convert.
		args = append(args, r.id, strconv.Itoa(i+1), r.typ, strconv.Itoa(r.schema), r.payload, r.metadata)
	}
	args = append(args, expected, expected)
	rs, err := q.QueryxContext(ctx, s.insertSQL(len(rows)), args...)
	if err != nil {
		if database.IsUniqueViolation(err) {
			return Result{}, &ConflictError{Stream: stream, Expected: expected, Actual: -1}
		}
		return Result{}, fmt.Errorf("insert events: %w", err)
	}
	var res Result
	n := 0
	for rs.Next() {
		var pos, ver int64
		if err := rs.Scan(&pos, &ver); err != nil {
			rs.Close()
			return Result{}, fmt.Errorf("insert events: %w", err)
		}
		res.Position, res.Version = max(res.Position, pos), max(res.Version, ver)
		n++
	}
	if err := rs.Err(); err != nil {
		rs.Close()
		if database.IsUniqueViolation(err) {
			return Result{}, &ConflictError{Stream: stream, Expected: expected, Actual: -1}
		}
		return Result{}, fmt.Errorf("insert events: %w", err)
	}
	rs.Close()
	if n == 0 {
		actual, err := s.streamVersion(ctx, q, stream.Type, stream.ID)
		if err != nil {
			return Result{}, err
		}
		return Result{}, &ConflictError{Stream: stream, Expected: expected, Actual: actual}
	}
	if n != len(rows) {
		return Result{}, fmt.Errorf("insert events: %d of %d rows inserted", n, len(rows))
	}
	return res, nil
}

// insertSQL returns the (bound) insert statement for n events, built once per n.
func (s *Store) insertSQL(n int) string {
	if q, ok := s.insertSQLs.Load(n); ok {
		return q.(string)
	}
	c := s.d.cast
	var b strings.Builder
	// One VALUES row per event (id, ordinal, type, schema version, payload,
	// metadata); the stream, tenant, time and expected version are bound once.
	fmt.Fprintf(&b, `WITH cur AS (SELECT COALESCE(MAX(stream_version), 0) AS v FROM events WHERE stream_type = ? AND stream_id = ?)
		INSERT INTO events (event_id, stream_type, stream_id, stream_version, tenant_id, event_type, schema_version, payload, metadata, recorded_at)
		SELECT %s, %s, %s, cur.v + %s, %s, %s, %s, %s, %s, %s FROM cur, (VALUES `,
		c("e.column1", "uuid"), c("?", "text"), c("?", "text"), c("e.column2", "int"), c("?", "text"),
		c("e.column3", "text"), c("e.column4", "int"), c("e.column5", "json"), c("e.column6", "json"), c("?", "time"))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?)")
	}
	fmt.Fprintf(&b, `) AS %s WHERE %s < 0 OR cur.v = %s ORDER BY %s RETURNING position, stream_version`,
		s.d.valuesAlias, c("?", "int"), c("?", "int"), c("e.column2", "int"))
	q := s.db.Rebind(b.String())
	s.insertSQLs.Store(n, q)
	return q
}

func (s *Store) streamVersion(ctx context.Context, q execer, streamType, streamID string) (int64, error) {
	var v int64
	if err := sqlx.GetContext(ctx, q, &v, q.Rebind(`SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_type = ? AND stream_id = ?`), streamType, streamID); err != nil {
		return 0, fmt.Errorf("read version of %s/%s: %w", streamType, streamID, err)
	}
	return v, nil
}

func (s *Store) reserve(ctx context.Context, tx *sqlx.Tx, stream Stream, r reservation, now any) error {
	// ON CONFLICT DO NOTHING keeps the PostgreSQL transaction usable; then we
	// check who holds the value.
	q := tx.Rebind(`INSERT INTO reservations (scope, value, stream_type, stream_id, reserved_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, value) DO NOTHING`)
	res, err := tx.ExecContext(ctx, q, r.scope, r.value, stream.Type, stream.ID, now)
	if err != nil {
		return fmt.Errorf("reserve %s %q: %w", r.scope, r.value, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil
	}
	var holderType, holderID string
	q = tx.Rebind(`SELECT stream_type, stream_id FROM reservations WHERE scope = ? AND value = ?`)
	if err := tx.QueryRowxContext(ctx, q, r.scope, r.value).Scan(&holderType, &holderID); err != nil {
		return fmt.Errorf("check reservation %s %q: %w", r.scope, r.value, err)
	}
	if holderType == stream.Type && holderID == stream.ID {
		return nil
	}
	return &ReservationError{Scope: r.scope, Value: r.value}
}

// ReservationHolder returns the id of the stream holding (scope, value), and
// whether anyone holds it. It reads the write side (the reservations written
// with the events), so commands may use it to resolve a unique key to a stream.
func (s *Store) ReservationHolder(ctx context.Context, scope, value string) (streamID string, found bool, err error) {
	q := s.db.Rebind(`SELECT stream_id FROM reservations WHERE scope = ? AND value = ?`)
	err = s.db.GetContext(ctx, &streamID, q, scope, value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read reservation %s %q: %w", scope, value, err)
	}
	return streamID, true, nil
}

// HeadCursor returns the cursor of the last event every reader can see now:
// reading after it returns only events committed later.
func (s *Store) HeadCursor(ctx context.Context) (Cursor, error) {
	q := `SELECT position, 0 FROM events ORDER BY position DESC LIMIT 1`
	if s.d.name == database.Postgres {
		q = `SELECT position, transaction_id::text::bigint AS tx_id FROM events
			WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
			ORDER BY transaction_id DESC, position DESC LIMIT 1`
	}
	var c struct {
		Position int64
		Tx       int64
	}
	err := s.db.QueryRowxContext(ctx, q).Scan(&c.Position, &c.Tx)
	if errors.Is(err, sql.ErrNoRows) {
		return Cursor{}, nil
	}
	if err != nil {
		return Cursor{}, fmt.Errorf("read head cursor: %w", err)
	}
	return Cursor{TxID: uint64(c.Tx), Position: c.Position}, nil
}

// StreamVersion returns the stream's current version (0 when it does not exist).
func (s *Store) StreamVersion(ctx context.Context, streamType, streamID string) (int64, error) {
	return s.streamVersion(ctx, s.db.DB, streamType, streamID)
}

// Load returns every event of the stream in version order, upcast. A stream
// that does not exist yields an empty slice and no error.
func (s *Store) Load(ctx context.Context, streamType, streamID string) ([]Event, error) {
	return s.LoadPage(ctx, streamType, streamID, 0, 0)
}

// LoadPage returns up to limit events of a stream with version > afterVersion
// (limit ≤ 0: all), in version order, upcast.
func (s *Store) LoadPage(ctx context.Context, streamType, streamID string, afterVersion int64, limit int) ([]Event, error) {
	q := `SELECT ` + eventColumns + `, ` + s.d.txColumn + ` FROM events
		WHERE stream_type = ? AND stream_id = ? AND stream_version > ? ORDER BY stream_version`
	args := []any{streamType, streamID, afterVersion}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	evs, err := s.query(ctx, s.db, s.db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("load stream %s/%s: %w", streamType, streamID, err)
	}
	return evs, nil
}

// StreamRef names a stream by type and id.
type StreamRef struct{ Type, ID string }

// MaxHistoryStreams bounds how many streams one LoadHistory call may
// merge (the statement's argument count).
const MaxHistoryStreams = 500

// LoadHistory returns up to limit events of tenantID's streams refs with
// position > afterPosition, in log position order, upcast, and the number
// of such events in all (afterPosition aside): the merged history of an
// entity made of several streams (a user and their sessions). Streams of
// another tenant contribute nothing. At most MaxHistoryStreams streams.
func (s *Store) LoadHistory(ctx context.Context, tenantID string, refs []StreamRef, afterPosition int64, limit int) ([]Event, int64, error) {
	if len(refs) == 0 {
		return nil, 0, nil
	}
	if len(refs) > MaxHistoryStreams {
		return nil, 0, fmt.Errorf("load history: %d streams, at most %d", len(refs), MaxHistoryStreams)
	}
	byType := map[string][]any{}
	var types []string
	for _, r := range refs {
		if _, ok := byType[r.Type]; !ok {
			types = append(types, r.Type)
		}
		byType[r.Type] = append(byType[r.Type], r.ID)
	}
	var (
		where strings.Builder
		args  = []any{tenantID}
	)
	where.WriteString(`tenant_id = ? AND (`)
	for i, t := range types {
		if i > 0 {
			where.WriteString(` OR `)
		}
		where.WriteString(`(stream_type = ? AND stream_id IN (?` + strings.Repeat(`, ?`, len(byType[t])-1) + `))`)
		args = append(args, t)
		args = append(args, byType[t]...)
	}
	where.WriteString(`)`)
	var total int64
	if err := s.db.GetContext(ctx, &total, s.db.Rebind(`SELECT COUNT(*) FROM events WHERE `+where.String()), args...); err != nil {
		return nil, 0, fmt.Errorf("count history: %w", err)
	}
	q := `SELECT ` + eventColumns + `, ` + s.d.txColumn + ` FROM events WHERE ` + where.String() + ` AND position > ? ORDER BY position`
	args = append(args, afterPosition)
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	evs, err := s.query(ctx, s.db, s.db.Rebind(q), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("load history: %w", err)
	}
	return evs, total, nil
}

// Queryer runs read queries: *sqlx.DB or *sqlx.Tx.
type Queryer interface {
	QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error)
}

// ReadAll returns up to limit events after cursor in consumption order,
// visible to every consumer (see the package comment), upcast.
func (s *Store) ReadAll(ctx context.Context, after Cursor, limit int) ([]Event, error) {
	return s.ReadAllWith(ctx, s.db, after, limit)
}

// ReadAllWith is ReadAll through q, e.g. inside a transaction.
func (s *Store) ReadAllWith(ctx context.Context, q Queryer, after Cursor, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = 500
	}
	evs, err := s.query(ctx, q, s.d.readAfter, s.d.txArg(after.TxID), after.Position, limit)
	if err != nil {
		return nil, fmt.Errorf("read log after %d: %w", after.Position, err)
	}
	return evs, nil
}

// VisibleEnd returns the cursor of the last event visible to every consumer
// (the end ReadAll reads up to now; the zero Cursor when there is none).
// Every event at or before it is committed: a rebuild may read them in any
// order (ReadStreams) and then continue after it in consumption order.
func (s *Store) VisibleEnd(ctx context.Context) (Cursor, error) {
	var (
		c    Cursor
		txID int64
	)
	err := s.db.QueryRowxContext(ctx, s.d.visibleEnd).Scan(&txID, &c.Position)
	if errors.Is(err, sql.ErrNoRows) {
		return Cursor{}, nil
	}
	if err != nil {
		return Cursor{}, fmt.Errorf("read the visible end of the log: %w", err)
	}
	c.TxID = uint64(txID)
	return c, nil
}

// ReadStreams calls fn with every event at or before until (in consumption
// order) whose type is one of types, upcast, ordered by stream: stream type,
// stream id, then version, so that each stream's events come together and
// in order. It reads with one query, streaming, and stops at fn's first
// error. until must be a cursor at or before VisibleEnd (or a consumer's
// checkpoint), so that every event up to it is committed. It is the read of
// a rebuild that folds each stream on its own (relay's bulk replay).
func (s *Store) ReadStreams(ctx context.Context, until Cursor, types []string, fn func(Event) error) error {
	if len(types) == 0 {
		return nil
	}
	each := func(e Event) error {
		if err := s.Upcast(&e); err != nil {
			return err
		}
		return fn(e)
	}
	var err error
	if s.d.name == database.Postgres {
		err = s.readStreamsPgx(ctx, until, types, each)
	} else {
		err = s.readStreamsSQL(ctx, until, types, each)
	}
	if err != nil {
		return fmt.Errorf("read streams: %w", err)
	}
	return nil
}

func (s *Store) readStreamsSQL(ctx context.Context, until Cursor, types []string, fn func(Event) error) error {
	q, args, err := sqlx.In(s.d.readStreams, types, s.d.txArg(until.TxID), until.Position)
	if err != nil {
		return err
	}
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := ScanEvent(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// readStreamsPgx is the PostgreSQL read, through pgx itself: database/sql's
// conversions of every value doubled the cost of a read of the whole log.
func (s *Store) readStreamsPgx(ctx context.Context, until Cursor, types []string, fn func(Event) error) error {
	return s.db.WithPgConn(ctx, func(conn *pgx.Conn) error {
		// Read only: the transaction takes no transaction id, so it holds
		// back no consumer however long the read takes.
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		// The index on (stream_type, stream_id, stream_version) gives the
		// order: without statistics (a log not analyzed yet) the planner
		// may prefer sorting the whole log, on disk past work_mem.
		if _, err := tx.Exec(ctx, `SET LOCAL enable_sort = off`); err != nil {
			return err
		}
		// Planned for these arguments (the unnamed statement), never a
		// cached generic plan.
		rows, err := tx.Query(ctx, `SELECT `+eventColumns+`, transaction_id::text::bigint FROM events
			WHERE event_type = ANY($1) AND (transaction_id, position) <= (CAST($2 AS xid8), $3)
			ORDER BY stream_type, stream_id, stream_version`,
			pgx.QueryExecModeDescribeExec, types, strconv.FormatUint(until.TxID, 10), until.Position)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e                 Event
				payload, metadata []byte
				txID              int64
			)
			if err := rows.Scan(&e.Position, &e.ID, &e.Stream.Type, &e.Stream.ID, &e.Version, &e.Stream.TenantID,
				&e.Type, &e.SchemaVersion, &payload, &metadata, &e.RecordedAt, &txID); err != nil {
				return fmt.Errorf("scan event: %w", err)
			}
			if err := decodeMetadata(metadata, &e); err != nil {
				return err
			}
			e.Payload, e.TxID = payload, uint64(txID)
			if err := fn(e); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// Head returns the highest position in the log (0 when empty).
func (s *Store) Head(ctx context.Context) (int64, error) {
	var head int64
	if err := s.db.GetContext(ctx, &head, `SELECT COALESCE(MAX(position), 0) FROM events`); err != nil {
		return 0, fmt.Errorf("read log head: %w", err)
	}
	return head, nil
}

// Upcast applies the store's upcasters to e (for events read by other packages, such as the relay).
func (s *Store) Upcast(e *Event) error { return s.opts.Upcasters.Upcast(e) }

func (s *Store) query(ctx context.Context, q Queryer, query string, args ...any) ([]Event, error) {
	rows, err := q.QueryxContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := ScanEvent(rows)
		if err != nil {
			return nil, err
		}
		if err := s.Upcast(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// decodeMetadata sets e.Metadata from its stored JSON; the empty object
// (most events' metadata) costs nothing.
func decodeMetadata(metadata []byte, e *Event) error {
	if len(metadata) == 0 || string(metadata) == "{}" {
		return nil
	}
	if err := json.Unmarshal(metadata, &e.Metadata); err != nil {
		return fmt.Errorf("decode metadata of event %d: %w", e.Position, err)
	}
	return nil
}

// Scanner is a row to scan (sql.Rows, sqlx.Rows, sql.Row).
type Scanner interface{ Scan(dest ...any) error }

// ScanEvent scans one row of the columns `position, event_id, stream_type,
// stream_id, stream_version, tenant_id, event_type, schema_version, payload,
// metadata, recorded_at, <tx id as bigint>`.
func ScanEvent(row Scanner) (Event, error) {
	var (
		e        Event
		payload  []byte
		metadata []byte
		recorded database.Time
		txID     int64
	)
	if err := row.Scan(&e.Position, &e.ID, &e.Stream.Type, &e.Stream.ID, &e.Version, &e.Stream.TenantID,
		&e.Type, &e.SchemaVersion, &payload, &metadata, &recorded, &txID); err != nil {
		return Event{}, fmt.Errorf("scan event: %w", err)
	}
	e.Payload = json.RawMessage(payload)
	if err := decodeMetadata(metadata, &e); err != nil {
		return Event{}, err
	}
	e.RecordedAt = recorded.Time
	e.TxID = uint64(txID)
	return e, nil
}

var _ Queryer = (*sqlx.DB)(nil)
var _ Queryer = (*sqlx.Tx)(nil)

// maxAnyVersionAttempts bounds the attempts of an AnyVersion append that
// keeps losing the race for the stream's next version.
const maxAnyVersionAttempts = 50

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
