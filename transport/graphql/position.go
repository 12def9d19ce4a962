package gql

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/rustok/rustok/domain"
)

// Position is the GraphQL scalar of global log positions: an opaque decimal
// string on output ("1234"), because positions can outgrow the 53 bits a
// JSON number keeps exactly in JavaScript and clients must not do arithmetic
// on them. On input it accepts that string or an integer (literal or JSON),
// from 0 up to 2⁶³−1; anything else is refused as an invalid value. Resolvers
// receive an int64.
//
// It is one value shared by every schema, as graphql-go's own scalars are: a
// schema may hold only one type named Position. It is never modified.
var Position = graphql.NewScalar(graphql.ScalarConfig{
	Name: "Position",
	Description: "A position in the global event log, as an opaque decimal string. " +
		"Input accepts the string or an integer. Compare positions only by asking the server (minPosition).",
	Serialize: func(v any) any {
		if p, ok := parsePosition(v); ok {
			return strconv.FormatInt(p, 10)
		}
		return nil
	},
	ParseValue: func(v any) any {
		if p, ok := parsePosition(v); ok {
			return p
		}
		return nil
	},
	ParseLiteral: func(v ast.Value) any {
		switch v := v.(type) {
		case *ast.StringValue:
			if p, ok := parsePosition(v.Value); ok {
				return p
			}
		case *ast.IntValue:
			if p, ok := parsePosition(v.Value); ok {
				return p
			}
		}
		return nil
	},
})

// parsePosition reads a position from a decimal string of digits or a
// non-negative whole number.
func parsePosition(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, v >= 0
	case int:
		return int64(v), v >= 0
	case int32:
		return int64(v), v >= 0
	case uint64:
		return int64(v), v <= math.MaxInt64
	case float64:
		if v >= 0 && v == math.Trunc(v) && v <= 1<<53 {
			return int64(v), true
		}
	case json.Number:
		return parsePosition(string(v))
	case string:
		if v == "" || len(v) > 19 {
			return 0, false
		}
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0, false
			}
		}
		p, err := strconv.ParseInt(v, 10, 64)
		return p, err == nil
	}
	return 0, false
}

// PositionWaiter waits until consumers processed a log position.
type PositionWaiter interface {
	// WaitFor blocks until every consumer processed position, timeout
	// passes or ctx ends, and reports whether the position was reached.
	WaitFor(ctx context.Context, position int64, consumers []string, timeout time.Duration) (bool, error)
}

// ReadYourWrites configures how a request waits for read models to reach a
// log position the client names (read-your-writes). The zero value waits for
// nothing: every position counts as reached.
type ReadYourWrites struct {
	// Waiter waits for consumers; nil disables waiting.
	Waiter PositionWaiter
	// Head returns the log's last position; a position beyond it is refused.
	Head func(ctx context.Context) (int64, error)
	// Consumers are the read-model projections waited for.
	Consumers []string
	// Timeout bounds the total wait of one request, however many fields
	// ask for a position; 0 checks once without waiting.
	Timeout time.Duration
}

// consistency is one request's read-your-writes state: the first wait starts
// the request's one time budget, later fields reuse what is known. Fields of
// a query resolve one after another, but the lock keeps it safe for
// resolvers that run concurrently.
type consistency struct {
	cfg ReadYourWrites

	mu        sync.Mutex
	head      int64
	headKnown bool
	deadline  time.Time // zero until the first wait
	asked     int64     // the highest position asked for
	reached   int64     // the highest position known reached
}

type consistencyKey struct{}

// AwaitPosition makes the request wait, within its read-your-writes budget,
// until the read models reached position (see ReadYourWrites). A position of
// 0 or less asks for nothing. A position beyond the log's head is a
// BAD_USER_INPUT error on field minPosition, answered at once. A position not
// reached in time is no error: the answer says so in its extensions
// (readYourWrites: {position, reached: false}) and the resolver reads the
// read model as it is. Outside a request of a Handler it does nothing.
func AwaitPosition(ctx context.Context, position int64) error {
	c, ok := ctx.Value(consistencyKey{}).(*consistency)
	if !ok || position <= 0 {
		return nil
	}
	return c.await(ctx, position)
}

func (c *consistency) await(ctx context.Context, position int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if position <= c.reached {
		return nil
	}
	if c.cfg.Head != nil && !c.headKnown {
		head, err := c.cfg.Head(ctx)
		if err != nil {
			return err
		}
		c.head, c.headKnown = head, true
	}
	if c.headKnown && position > c.head {
		return domain.InvalidField("minPosition", "position %d is beyond the end of the event log", position)
	}
	c.asked = max(c.asked, position)
	if c.cfg.Waiter == nil {
		c.reached = max(c.reached, position)
		return nil
	}
	if c.deadline.IsZero() {
		c.deadline = time.Now().Add(c.cfg.Timeout)
	}
	ok, err := c.cfg.Waiter.WaitFor(ctx, position, c.cfg.Consumers, max(time.Until(c.deadline), 0))
	if err != nil {
		return err
	}
	if ok {
		c.reached = max(c.reached, position)
	}
	return nil
}

// extension returns the readYourWrites member of the answer's extensions,
// or nil when no position was asked for.
func (c *consistency) extension() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.asked == 0 {
		return nil
	}
	return map[string]any{
		"position": strconv.FormatInt(c.asked, 10),
		"reached":  c.reached >= c.asked,
	}
}
