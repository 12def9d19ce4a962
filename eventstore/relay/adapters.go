package relay

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
)

// Topic is the one Watermill topic: the whole log.
const Topic = "events"

// Message metadata keys carrying the event envelope.
const (
	mdPosition      = "position"
	mdTxID          = "tx_id"
	mdStreamType    = "stream_type"
	mdStreamID      = "stream_id"
	mdStreamVersion = "stream_version"
	mdTenantID      = "tenant_id"
	mdEventType     = "event_type"
	mdSchemaVersion = "schema_version"
	mdRecordedAt    = "recorded_at"
	mdActorID       = "actor_id"
	mdRequestID     = "request_id"
	mdCorrelationID = "correlation_id"
	mdCausationID   = "causation_id"
)

const selectColumns = `position, event_id, stream_type, stream_id, stream_version, tenant_id,
	event_type, schema_version, payload, metadata, recorded_at`

var errPublishThroughStore = errors.New("relay: events are appended through eventstore.Store, not published")

// toMessage turns a scanned event into a Watermill message.
func toMessage(e eventstore.Event) *message.Message {
	msg := message.NewMessage(e.ID, message.Payload(e.Payload))
	md := msg.Metadata
	md[mdPosition] = strconv.FormatInt(e.Position, 10)
	md[mdTxID] = strconv.FormatUint(e.TxID, 10)
	md[mdStreamType] = e.Stream.Type
	md[mdStreamID] = e.Stream.ID
	md[mdStreamVersion] = strconv.FormatInt(e.Version, 10)
	md[mdTenantID] = e.Stream.TenantID
	md[mdEventType] = e.Type
	md[mdSchemaVersion] = strconv.Itoa(e.SchemaVersion)
	md[mdRecordedAt] = e.RecordedAt.Format(time.RFC3339Nano)
	md[mdActorID] = e.Metadata.ActorID
	md[mdRequestID] = e.Metadata.RequestID
	md[mdCorrelationID] = e.Metadata.CorrelationID
	md[mdCausationID] = e.Metadata.CausationID
	return msg
}

// fromMessage rebuilds the event from a message made by toMessage.
func fromMessage(msg *message.Message) (eventstore.Event, error) {
	md := msg.Metadata
	var e eventstore.Event
	var err error
	parseInt := func(key string) int64 {
		if err != nil {
			return 0
		}
		var v int64
		v, err = strconv.ParseInt(md[key], 10, 64)
		if err != nil {
			err = fmt.Errorf("message %s: metadata %s: %w", msg.UUID, key, err)
		}
		return v
	}
	e.ID = msg.UUID
	e.Position = parseInt(mdPosition)
	e.TxID = uint64(parseInt(mdTxID))
	e.Version = parseInt(mdStreamVersion)
	e.SchemaVersion = int(parseInt(mdSchemaVersion))
	if err != nil {
		return eventstore.Event{}, err
	}
	if e.RecordedAt, err = time.Parse(time.RFC3339Nano, md[mdRecordedAt]); err != nil {
		return eventstore.Event{}, fmt.Errorf("message %s: metadata recorded_at: %w", msg.UUID, err)
	}
	e.Stream = eventstore.Stream{Type: md[mdStreamType], ID: md[mdStreamID], TenantID: md[mdTenantID]}
	e.Type = md[mdEventType]
	e.Metadata = eventstore.Metadata{ActorID: md[mdActorID], RequestID: md[mdRequestID], CorrelationID: md[mdCorrelationID], CausationID: md[mdCausationID]}
	e.Payload = []byte(msg.Payload)
	return e, nil
}

// adapters returns the schema and offsets adapters of a dialect.
func adapters(d database.Dialect, batchSize int) (wmsql.SchemaAdapter, wmsql.OffsetsAdapter) {
	if d == database.Postgres {
		return postgresSchema{batchSize: batchSize}, postgresOffsets{}
	}
	return sqliteSchema{batchSize: batchSize}, sqliteOffsets{}
}

func unmarshalRow(params wmsql.UnmarshalMessageParams) (wmsql.Row, error) {
	e, err := eventstore.ScanEvent(params.Row)
	if err != nil {
		return wmsql.Row{}, err
	}
	return wmsql.Row{
		Offset:    e.Position,
		UUID:      []byte(e.ID),
		Payload:   e.Payload,
		Msg:       toMessage(e),
		ExtraData: map[string]any{"transaction_id": strconv.FormatUint(e.TxID, 10)},
	}, nil
}

// postgresSchema reads the events table in (transaction_id, position) order
// below the pg_snapshot_xmin fence, as watermill-sql's PostgreSQL adapter does
// for its own table.
type postgresSchema struct{ batchSize int }

func (postgresSchema) InsertQuery(wmsql.InsertQueryParams) (wmsql.Query, error) {
	return wmsql.Query{}, errPublishThroughStore
}

func (s postgresSchema) SelectQuery(p wmsql.SelectQueryParams) (wmsql.Query, error) {
	next, err := p.OffsetsAdapter.NextOffsetQuery(wmsql.NextOffsetQueryParams{Topic: p.Topic, ConsumerGroup: p.ConsumerGroup})
	if err != nil {
		return wmsql.Query{}, err
	}
	// The row comparison makes this an index range scan on the primary key
	// (transaction_id, position) that stops after the batch. watermill-sql's
	// own adapter uses an OR of two conditions, which the planner turns into a
	// scan from the start of the log: quadratic catch-up (docs/adr/0002).
	// ORDER BY the indexed columns themselves (not the bigint cast of the xid),
	// so the scan stops after one batch instead of sorting the whole rest.
	q := `WITH last_processed AS (` + next.Query + `)
		SELECT ` + selectColumns + `, transaction_id::text::bigint AS tx_id FROM events
		WHERE (transaction_id, position) > (
			(SELECT last_processed_transaction_id FROM last_processed),
			(SELECT offset_acked FROM last_processed))
		AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY transaction_id, position
		LIMIT ` + strconv.Itoa(s.batchSize)
	return wmsql.Query{Query: q, Args: next.Args}, nil
}

func (postgresSchema) UnmarshalMessage(p wmsql.UnmarshalMessageParams) (wmsql.Row, error) {
	return unmarshalRow(p)
}

func (postgresSchema) SchemaInitializingQueries(wmsql.SchemaInitializingQueriesParams) ([]wmsql.Query, error) {
	return nil, nil // tables come from migrations
}

// SubscribeIsolationLevel: read committed. The transaction's first statement
// waits for the group's lock (lockGroup); under repeatable read its snapshot
// would be taken before that wait, and the checkpoint read after it would
// miss what the instance holding the lock had just committed — the batch
// would be handled again before its checkpoint update failed. Each statement
// then reads what is committed: the group's lock keeps everyone else off its
// checkpoint and read model, and the read of events is one statement with
// its own fence.
func (postgresSchema) SubscribeIsolationLevel() sql.IsolationLevel { return sql.LevelReadCommitted }

type postgresOffsets struct{}

func (postgresOffsets) AckMessageQuery(p wmsql.AckMessageQueryParams) (wmsql.Query, error) {
	return wmsql.Query{
		Query: `UPDATE consumer_offsets SET offset_acked = $1, last_processed_transaction_id = CAST($2 AS xid8), updated_at = now()
			WHERE consumer_group = $3`,
		Args: []any{p.LastRow.Offset, p.LastRow.ExtraData["transaction_id"], p.ConsumerGroup},
	}, nil
}

func (postgresOffsets) ConsumedMessageQuery(wmsql.ConsumedMessageQueryParams) (wmsql.Query, error) {
	return wmsql.Query{}, nil
}

// NextOffsetQuery reads the group's checkpoint. It does not lock the row:
// the transaction holds the group's advisory lock already (beginner,
// lockGroup), taken in an earlier statement, so this one sees the last
// checkpoint committed, and a row lock would take a transaction id.
func (postgresOffsets) NextOffsetQuery(p wmsql.NextOffsetQueryParams) (wmsql.Query, error) {
	return wmsql.Query{
		Query: `SELECT offset_acked, last_processed_transaction_id FROM consumer_offsets WHERE consumer_group = $1`,
		Args:  []any{p.ConsumerGroup},
	}, nil
}

func (postgresOffsets) SchemaInitializingQueries(wmsql.OffsetsSchemaInitializingQueriesParams) ([]wmsql.Query, error) {
	return nil, nil
}

func (postgresOffsets) BeforeSubscribingQueries(p wmsql.BeforeSubscribingQueriesParams) ([]wmsql.Query, error) {
	return []wmsql.Query{{
		Query: `INSERT INTO consumer_offsets (consumer_group) VALUES ($1) ON CONFLICT DO NOTHING`,
		Args:  []any{p.ConsumerGroup},
	}}, nil
}

// sqliteSchema reads position > offset: SQLite has one writer at a time, so
// position order is commit order and nothing can be skipped.
type sqliteSchema struct{ batchSize int }

func (sqliteSchema) InsertQuery(wmsql.InsertQueryParams) (wmsql.Query, error) {
	return wmsql.Query{}, errPublishThroughStore
}

func (s sqliteSchema) SelectQuery(p wmsql.SelectQueryParams) (wmsql.Query, error) {
	next, err := p.OffsetsAdapter.NextOffsetQuery(wmsql.NextOffsetQueryParams{Topic: p.Topic, ConsumerGroup: p.ConsumerGroup})
	if err != nil {
		return wmsql.Query{}, err
	}
	q := `SELECT ` + selectColumns + `, 0 FROM events WHERE position > (` + next.Query + `)
		ORDER BY position LIMIT ` + strconv.Itoa(s.batchSize)
	return wmsql.Query{Query: q, Args: next.Args}, nil
}

func (sqliteSchema) UnmarshalMessage(p wmsql.UnmarshalMessageParams) (wmsql.Row, error) {
	return unmarshalRow(p)
}

func (sqliteSchema) SchemaInitializingQueries(wmsql.SchemaInitializingQueriesParams) ([]wmsql.Query, error) {
	return nil, nil
}

// SubscribeIsolationLevel: the default; transactions are BEGIN IMMEDIATE (see platform/database).
func (sqliteSchema) SubscribeIsolationLevel() sql.IsolationLevel { return sql.LevelDefault }

type sqliteOffsets struct{}

func (sqliteOffsets) AckMessageQuery(p wmsql.AckMessageQueryParams) (wmsql.Query, error) {
	return wmsql.Query{
		Query: `UPDATE consumer_offsets SET offset_acked = ?, updated_at = ? WHERE consumer_group = ?`,
		Args:  []any{p.LastRow.Offset, database.FormatTime(time.Now()), p.ConsumerGroup},
	}, nil
}

func (sqliteOffsets) ConsumedMessageQuery(wmsql.ConsumedMessageQueryParams) (wmsql.Query, error) {
	return wmsql.Query{}, nil
}

func (sqliteOffsets) NextOffsetQuery(p wmsql.NextOffsetQueryParams) (wmsql.Query, error) {
	return wmsql.Query{
		Query: `SELECT offset_acked FROM consumer_offsets WHERE consumer_group = ?`,
		Args:  []any{p.ConsumerGroup},
	}, nil
}

func (sqliteOffsets) SchemaInitializingQueries(wmsql.OffsetsSchemaInitializingQueriesParams) ([]wmsql.Query, error) {
	return nil, nil
}

func (sqliteOffsets) BeforeSubscribingQueries(p wmsql.BeforeSubscribingQueriesParams) ([]wmsql.Query, error) {
	return []wmsql.Query{{
		Query: `INSERT INTO consumer_offsets (consumer_group) VALUES (?) ON CONFLICT DO NOTHING`,
		Args:  []any{p.ConsumerGroup},
	}}, nil
}
