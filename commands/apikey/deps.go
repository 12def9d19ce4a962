package apikey

import (
	"crypto/rand"
	"io"
	"log/slog"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/eventstore"
)

// Deps are what the API key handlers need. Each constructor checks the
// fields it uses and panics if one is missing (a wiring mistake).
type Deps struct {
	// Store is the event store.
	Store commands.Store
	// Modules says whether a tenant has the rbac module enabled; for this
	// core module it is commands.AlwaysEnabled in production.
	Modules commands.ModuleGate
	// NewID returns new key ids, lowercase UUIDs (CreateAPIKey).
	NewID func() (string, error)
	// Random is the source of secrets (CreateAPIKey); nil means
	// crypto/rand.Reader.
	Random io.Reader
	// Now is the clock of the recorded events.
	Now func() time.Time
}

// Application errors of the API key commands, besides those of
// domain/apikey and domain/rbac. Match them with errors.Is.
var (
	// ErrNotFound (NOT_FOUND): no API key with this id in the tenant.
	ErrNotFound = domain.NotFound("API key not found")
	// ErrInvalidID (BAD_USER_INPUT, field id): a key id that is not a
	// lowercase UUID.
	ErrInvalidID = domain.InvalidField("id", "API key id must be a UUID")
	// ErrKeyCannotCreate (FORBIDDEN): the actor is an API key; only users
	// create keys, so that a leaked key cannot mint others.
	ErrKeyCannotCreate = domain.Forbidden("an API key cannot create API keys")
	// ErrKeyExists (CONFLICT, field id): the generated id is taken (a broken
	// id generator).
	ErrKeyExists = &domain.Error{Code: domain.CodeConflict, Message: "an API key with this id already exists", Field: "id"}
)

// The permissions of the API key commands: keys are settings of the tenant
// (admins hold settings:manage).
var (
	permCreate = rbac.P(rbac.ResourceSettings, rbac.ActionCreate)
	permDelete = rbac.P(rbac.ResourceSettings, rbac.ActionDelete)
)

// pipeline returns the API keys' command pipeline over d.
func pipeline(d Deps) commands.Pipeline[*apikey.APIKey, apikey.Event] {
	return commands.Pipeline[*apikey.APIKey, apikey.Event]{
		Repo: commands.Repository[*apikey.APIKey, apikey.Event]{
			Store: d.Store, StreamType: apikey.StreamType, Decode: apikey.Decode, Fold: apikey.Load, NotFound: ErrNotFound,
		},
		Module:   module.SlugRBAC,
		Modules:  d.Modules,
		TenantOf: (*apikey.APIKey).TenantID,
	}
}

// check panics, naming the constructor, if a dependency it needs is
// missing.
func (d Deps) check(name string, needID bool) {
	if d.Store == nil || d.Modules == nil || d.Now == nil || (needID && d.NewID == nil) {
		panic("apikey." + name + ": missing dependency")
	}
}

func (d Deps) random() io.Reader {
	if d.Random == nil {
		return rand.Reader
	}
	return d.Random
}

// logAttrs returns the log fields of a command on the key keyID ("" for a
// new one) in tenant: never a secret.
func logAttrs(tenantID, keyID string, actor rbac.Actor, meta eventstore.Metadata) []slog.Attr {
	attrs := []slog.Attr{slog.String("tenant", tenantID)}
	if keyID != "" {
		attrs = append(attrs, slog.String("api_key_id", clip(keyID)))
	}
	if meta.ActorID == "" && actor.UserID() != "" {
		attrs = append(attrs, slog.String("actor_id", actor.UserID()))
	}
	return append(attrs, commands.ActorAttrs(meta)...)
}

// checkID returns ErrInvalidID unless id is a lowercase hyphenated UUID.
func checkID(id string) error {
	if !domain.IsUUID(id) {
		return ErrInvalidID
	}
	return nil
}

// maxLoggedInput bounds how much of a client-supplied value is logged or
// quoted in an error.
const maxLoggedInput = 100

func clip(s string) string { return domain.Clip(s, maxLoggedInput) }
