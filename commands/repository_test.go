package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
)

var errUserNotFound = domain.NotFound("user not found")

func users(store commands.Store) commands.Repository[*user.User, user.Event] {
	return commands.Repository[*user.User, user.Event]{
		Store: store, StreamType: user.StreamType, Decode: user.Decode, Fold: user.Load, NotFound: errUserNotFound,
	}
}

// TestRepository runs the one aggregate repository with a second aggregate
// (users; tenants use it in commands/tenant): load of a missing stream,
// append and load back, a stale version, a no-op, a taken reservation, a
// stream of another type, an event the domain cannot decode.
func TestRepository(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		ctx := context.Background()
		store, err := eventstore.New(dbtest.OpenURL(t, dbURL), eventstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		repo := users(store)
		tenantID := uuid.NewString()
		at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		register := func(email string) (*user.User, []user.Event, eventstore.Stream) {
			t.Helper()
			u, evs, err := user.Register(user.Registration{ID: uuid.NewString(), TenantID: tenantID, Email: email, Name: "Ann", PasswordHash: "$argon2id$stub"}, at)
			if err != nil {
				t.Fatal(err)
			}
			return u, evs, eventstore.Stream{Type: user.StreamType, ID: u.ID(), TenantID: tenantID}
		}
		reserve := func(u *user.User) eventstore.AppendOption {
			return eventstore.Reserve(user.EmailScope, u.EmailReservation())
		}

		if _, _, err := repo.Load(ctx, uuid.NewString()); !errors.Is(err, errUserNotFound) {
			t.Fatalf("load of a missing user: %v, want NOT_FOUND", err)
		}

		u, evs, stream := register("ann@example.com")
		res, err := repo.Append(ctx, stream, eventstore.NoStream, evs, reserve(u))
		if err != nil || res.Position == 0 {
			t.Fatalf("append of a new user: %+v, %v", res, err)
		}
		loaded, version, err := repo.Load(ctx, u.ID())
		if err != nil {
			t.Fatal(err)
		}
		if version != int64(len(evs)) || loaded.Email() != "ann@example.com" || loaded.Name() != "Ann" {
			t.Fatalf("loaded %s %q at version %d, want ann@example.com \"Ann\" at %d", loaded.Email(), loaded.Name(), version, len(evs))
		}

		renamed, err := loaded.Rename("Anne", at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Append(ctx, stream, version, renamed); err != nil {
			t.Fatal(err)
		}
		// The same decision again from the old version: someone else won.
		if _, err := repo.Append(ctx, stream, version, renamed); !errors.Is(err, commands.ErrStaleVersion) || !errors.Is(err, eventstore.ErrConcurrencyConflict) {
			t.Fatalf("append at a stale version: %v, want ErrStaleVersion wrapping the store's conflict", err)
		}

		// No events: nothing is appended.
		if res, err := repo.Append(ctx, stream, 0, nil); err != nil || res.Position != 0 {
			t.Fatalf("append of no events: %+v, %v, want position 0 and no error", res, err)
		}
		if _, version, _ := repo.Load(ctx, u.ID()); version != int64(len(evs))+1 {
			t.Fatalf("version %d after the no-op, want %d", version, len(evs)+1)
		}

		// Another user with the same email: the reservation is taken.
		other, evs2, stream2 := register("ANN@example.com")
		_, err = repo.Append(ctx, stream2, eventstore.NoStream, evs2, reserve(other))
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeConflict || de.Field != "email" || !errors.Is(err, eventstore.ErrReserved) {
			t.Fatalf("second user with the same email: %v, want a CONFLICT on the field email", err)
		}
		if _, _, err := repo.Load(ctx, other.ID()); !errors.Is(err, errUserNotFound) {
			t.Fatalf("the refused user was written: %v", err)
		}

		// A stream of another type is a wiring mistake, refused before the store.
		if _, err := repo.Append(ctx, eventstore.Stream{Type: "tenant", ID: tenantID, TenantID: tenantID}, eventstore.NoStream, evs2); err == nil || !strings.Contains(err.Error(), "user repository") {
			t.Fatalf("append to a tenant stream through the user repository: %v", err)
		}

		// An event the domain does not know names the stream and version.
		if _, err := store.Append(ctx, stream, eventstore.AnyVersion, []eventstore.NewEvent{{Type: "user.teleported", SchemaVersion: 1, Payload: map[string]string{}}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := repo.Load(ctx, u.ID()); !errors.Is(err, user.ErrUnknownEvent) || !strings.Contains(err.Error(), "event 3") {
			t.Fatalf("load with an unknown event: %v, want ErrUnknownEvent naming event 3", err)
		}
	})
}
