package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/domain/user"
	userproj "github.com/rustok/rustok/projections/user"
)

// firstAdmin is the first admin that `tenants create --admin-email` gives
// the new tenant.
type firstAdmin struct {
	email string
	// password is the one read with --admin-password-stdin; empty means
	// a random one nobody knows, and a reset link printed to set it.
	password string
}

// readFirstAdmin returns the first admin asked for by the flags, or nil
// for none; with fromStdin it reads the password, one line, from the
// CLI's stdin. A usage error for --admin-password-stdin without
// --admin-email.
func (c *cli) readFirstAdmin(email string, fromStdin bool) (*firstAdmin, error) {
	if email == "" {
		if fromStdin {
			return nil, usagef("--admin-password-stdin needs --admin-email")
		}
		return nil, nil
	}
	normalized, err := user.NormalizeEmail(email)
	if err != nil {
		return nil, fmt.Errorf("--admin-email: %w", err)
	}
	fa := &firstAdmin{email: normalized}
	if fromStdin {
		if fa.password, err = readPasswordLine(c.stdin); err != nil {
			return nil, err
		}
	}
	return fa, nil
}

// readPasswordLine reads one line from r, without its line ending.
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the admin password from stdin: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("--admin-password-stdin: no password on stdin (one line expected)")
	}
	return line, nil
}

// check refuses, before the tenant is created, a password the policy of
// cfg refuses, so that a bad password leaves no tenant without its admin.
func (fa *firstAdmin) check(cfg config.Config) error {
	if fa.password == "" {
		return nil
	}
	if err := (user.Policy{MinLength: cfg.Auth.Password.MinLength}).Check(fa.password, fa.email); err != nil {
		return fmt.Errorf("--admin-password-stdin: %w", err)
	}
	return nil
}

// createFirstAdmin creates fa as the admin of tenant tenantID (slug for
// messages) through the CreateUser handler. Without a password it gives the
// admin a random one and prints a one-time link to set theirs: a reset
// requested through the RequestPasswordReset handler, whose token is
// derived from the event as the reset mail reactor derives it.
func (c *cli) createFirstAdmin(ctx context.Context, a *app, tenantID, slug string, fa *firstAdmin) error {
	id, err := cliIdentity(a)
	if err != nil {
		return err
	}
	defer id.Close()
	password := fa.password
	if password == "" {
		if password, err = unusablePassword(); err != nil {
			return err
		}
	}
	userID, err := id.newID()
	if err != nil {
		return err
	}
	meta, who := c.actor(), c.operator()
	res, err := id.accounts.create.Handle(ctx, usercmd.CreateUser{
		TenantID: tenantID, Actor: who, Meta: meta, ID: userID, Email: fa.email, Password: password, Role: user.RoleAdmin,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "created admin %s (id %s) of tenant %s\n", fa.email, userID, slug)
	last := res.Position
	if fa.password == "" {
		link, pos, expires, err := c.resetLink(ctx, a, id, tenantID, userID, fa.email)
		if err != nil {
			return fmt.Errorf("the admin is created, but no link to set the password could be made: %w", err)
		}
		last = pos
		fmt.Fprintf(c.stdout, "Set the admin's password with this one-time link (valid until %s):\n%s\n", expires.Format(time.RFC3339), link)
	}
	if err := a.catchUp(ctx, userproj.Name, last); err != nil {
		return fmt.Errorf("the admin is saved (position %d), but updating the users read model failed: %w", last, err)
	}
	return nil
}

// unusablePassword returns 32 random bytes in base64: a password nobody
// knows, until a reset replaces it.
func unusablePassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random password: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// resetLink requests a password reset for the user and returns the link
// that sets the password, with the position of the request and the link's
// expiry. The token is the one the reset mail reactor would mail
// (projections/user ResetMailReactor): derived from the reset key, the
// tenant, the user and the time of the user's last
// user.password_reset_requested event.
func (c *cli) resetLink(ctx context.Context, a *app, id *identity, tenantID, userID, email string) (string, int64, time.Time, error) {
	res, err := id.accounts.forgot.Handle(ctx, usercmd.RequestPasswordReset{
		TenantID: tenantID, Actor: c.operator(), Meta: c.actor(), Email: email,
	})
	if err != nil {
		return "", 0, time.Time{}, err
	}
	if res.Position == 0 {
		return "", 0, time.Time{}, errors.New("no reset was recorded for the admin")
	}
	evs, err := a.store.Load(ctx, user.StreamType, userID)
	if err != nil {
		return "", 0, time.Time{}, err
	}
	var req user.PasswordResetRequested
	found := false
	for i := len(evs) - 1; i >= 0 && !found; i-- {
		if evs[i].Type == user.TypePasswordResetRequested {
			if err := json.Unmarshal(evs[i].Payload, &req); err != nil {
				return "", 0, time.Time{}, fmt.Errorf("decode %s at position %d: %w", evs[i].Type, evs[i].Position, err)
			}
			found = true
		}
	}
	if !found {
		return "", 0, time.Time{}, errors.New("the reset request is not in the user's stream")
	}
	key, err := deriveKey(a.cfg.Auth.JWT, resetKeyLabel)
	if err != nil {
		return "", 0, time.Time{}, err
	}
	secret := user.ResetSecret(key, tenantID, userID, req.At)
	if user.ResetTokenHash(secret) != req.TokenHash {
		return "", 0, time.Time{}, errors.New("the reset token does not match the recorded request")
	}
	base, err := url.Parse(a.cfg.Settings.Rustok.Email.ResetBaseURL)
	if err != nil {
		return "", 0, time.Time{}, fmt.Errorf("settings.rustok.email.reset_base_url: %w", err)
	}
	q := base.Query()
	q.Set("token", user.ResetToken(userID, secret))
	base.RawQuery = q.Encode()
	return base.String(), res.Position, req.ExpiresAt, nil
}
