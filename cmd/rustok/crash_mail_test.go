package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/password"
)

// TestKillDuringResetMail kills `rustok serve` (kill -9) at random moments
// while users ask for password resets, four times, with the file mail
// driver, then lets a last start catch up: the mail folder holds exactly
// one message per reset request, whatever the kills interrupted (issue 15:
// the reactor never sends twice for one event, after a crash too). On
// SQLite and PostgreSQL.
func TestKillDuringResetMail(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the built binary; skipped with -short")
	}
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newCrashEnv(t, dbURL)
		mailDir := filepath.Join(e.dir, "mail")
		e.env = append(e.env, "RUSTOK_SETTINGS__RUSTOK__EMAIL__DRIVER=file", "RUSTOK_SETTINGS__RUSTOK__EMAIL__FILE_DIR="+mailDir)
		ctx := context.Background()
		tenantID, _ := createTenant(t, e.a, e.h, "resets")

		// The same handlers as the server, with the same reset key (both
		// derive it from the development signing secret).
		key, err := deriveKey(testConfig(dbURL).Auth.JWT, resetKeyLabel)
		if err != nil {
			t.Fatal(err)
		}
		hasher, err := password.New(password.Options{Params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}})
		if err != nil {
			t.Fatal(err)
		}
		d := usercmd.Deps{Store: e.a.store, Modules: commands.AlwaysEnabled{}, Hasher: hasher, Now: time.Now,
			NewID: func() (string, error) { return uuid.NewString(), nil }, ResetKey: key}
		create, forgot := usercmd.NewCreateUserHandler(d, commands.Decorators{}), usercmd.NewRequestPasswordResetHandler(d, commands.Decorators{})
		root, err := rbac.UserActor("00000000-0000-7000-8000-000000000001", rbac.RoleSuperAdmin)
		if err != nil {
			t.Fatal(err)
		}

		// Writers: each user asks once, so no request supersedes another.
		stop := make(chan struct{})
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			requests int
		)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					email := fmt.Sprintf("u%d-%d@example.com", w, i)
					if _, err := create.Handle(ctx, usercmd.CreateUser{TenantID: tenantID, Actor: root, Email: email, Password: "correct horse battery"}); err != nil {
						t.Errorf("create %s: %v", email, err)
						return
					}
					res, err := forgot.Handle(ctx, usercmd.RequestPasswordReset{TenantID: tenantID, Email: email})
					if err != nil || res.Position == 0 {
						t.Errorf("forgot %s: %v (position %d)", email, err, res.Position)
						return
					}
					mu.Lock()
					requests++
					mu.Unlock()
					time.Sleep(5 * time.Millisecond)
				}
			}()
		}
		for round := range 4 {
			srv := startProcess(t, e.bin, e.dir, e.env, "serve")
			srv.waitFor(t, "the addresses on stdout", 2*time.Minute, func() bool {
				return bannerLines(srv.stdout.String())["GraphQL API"] != ""
			})
			time.Sleep(time.Duration(100+rand.IntN(600)) * time.Millisecond)
			if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("round %d: kill: %v", round, err)
			}
			<-srv.done
		}
		close(stop)
		wg.Wait()
		srv := startProcess(t, e.bin, e.dir, e.env, "serve")
		srv.waitFor(t, "the addresses on stdout", 2*time.Minute, func() bool {
			return bannerLines(srv.stdout.String())["GraphQL API"] != ""
		})
		e.caughtUp(2 * time.Minute)

		// One file per request event, each to its user.
		var events int
		for cur := (eventstore.Cursor{}); ; {
			evs, err := e.a.store.ReadAll(ctx, cur, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			for _, ev := range evs {
				if ev.Type == user.TypePasswordResetRequested {
					events++
				}
			}
			cur = evs[len(evs)-1].Cursor()
		}
		files := mailFiles(t, mailDir)
		if events != requests || len(files) != events {
			t.Fatalf("%d acknowledged requests, %d events, %d messages: want all equal", requests, events, len(files))
		}
		seen := map[string]bool{}
		for _, f := range files {
			to, token := resetTokenIn(t, f)
			if token == "" || seen[to] || !strings.Contains(to, "@example.com") {
				t.Fatalf("message %s to %q (token %q): a duplicate or a bad message", f, to, token)
			}
			seen[to] = true
		}
		t.Logf("%d reset requests through 4 kills of serve: %d messages", requests, len(files))
		e.verifyClean()
	})
}
