package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	sessionqry "github.com/rustok/rustok/queries/session"
	gql "github.com/rustok/rustok/transport/graphql"
)

// userHistory is the history source of users: the user's stream and the
// streams of their sessions the sessions read model holds (at most
// sessionqry.MaxUserSessionIDs, newest first). A user id of another
// tenant, or no user's, is not found.
func userHistory(store *eventstore.Store, sessions *sessionqry.Reader) gql.HistorySource {
	return func(ctx context.Context, tenantID, id string) ([]eventstore.StreamRef, bool, error) {
		first, err := store.LoadPage(ctx, user.StreamType, id, 0, 1)
		if err != nil {
			return nil, false, err
		}
		if len(first) == 0 || first[0].Stream.TenantID != tenantID {
			return nil, false, nil
		}
		ids, err := sessions.UserSessionIDs(ctx, tenantID, id)
		if err != nil {
			return nil, false, err
		}
		refs := make([]eventstore.StreamRef, 0, len(ids)+1)
		refs = append(refs, eventstore.StreamRef{Type: user.StreamType, ID: id})
		for _, sid := range ids {
			refs = append(refs, eventstore.StreamRef{Type: session.StreamType, ID: sid})
		}
		return refs, true, nil
	}
}

// redactEvent returns the payload of e as history shows it: the events of
// the identity streams go through their module's Redact (no password,
// refresh token, reset token or API key hash); other modules' events hold
// no secret.
func redactEvent(e eventstore.Event) (json.RawMessage, error) {
	var (
		redacted any
		err      error
	)
	switch e.Stream.Type {
	case user.StreamType:
		var d user.Event
		if d, err = user.Decode(e.Type, e.SchemaVersion, e.Payload); err == nil {
			redacted = user.Redact(d)
		}
	case session.StreamType:
		var d session.Event
		if d, err = session.Decode(e.Type, e.SchemaVersion, e.Payload); err == nil {
			redacted = session.Redact(d)
		}
	case apikey.StreamType:
		var d apikey.Event
		if d, err = apikey.Decode(e.Type, e.SchemaVersion, e.Payload); err == nil {
			redacted = apikey.Redact(d)
		}
	default:
		return e.Payload, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redact %s at position %d: %w", e.Type, e.Position, err)
	}
	out, err := json.Marshal(redacted)
	if err != nil {
		return nil, fmt.Errorf("redact %s at position %d: %w", e.Type, e.Position, err)
	}
	return out, nil
}
