package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"time"

	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/mail"
	userproj "github.com/rustok/rustok/projections/user"
	tenantqry "github.com/rustok/rustok/queries/tenant"
)

// mailOptions maps settings.rustok.email to the mailer's options.
func mailOptions(e config.Email) mail.Options {
	return mail.Options{
		Driver: e.Driver, From: e.From, FileDir: e.FileDir,
		SMTP: mail.SMTP{Host: e.SMTP.Host, Port: e.SMTP.Port, Username: e.SMTP.Username, Password: e.SMTP.Password, TLS: e.SMTP.TLS},
	}
}

// reactors are the consumer groups with side effects, built from the
// configuration: the password reset mail.
func (a *app) reactors() ([]relay.Consumer, error) {
	m, err := mail.New(mailOptions(a.cfg.Settings.Rustok.Email), a.logger)
	if err != nil {
		return nil, fmt.Errorf("settings.rustok.email: %w", err)
	}
	base, err := url.Parse(a.cfg.Settings.Rustok.Email.ResetBaseURL)
	if err != nil {
		return nil, fmt.Errorf("settings.rustok.email.reset_base_url: %w", err)
	}
	return []relay.Consumer{userproj.ResetMailReactor(userproj.ResetMailDeps{
		Mailer: resetMailer{mailer: m, tenants: tenantqry.NewReader(a.db), logger: a.logger},
		Users:  a.store, ResetKey: a.resetKey, BaseURL: base, Now: time.Now, Logger: a.logger,
	})}, nil
}

// resetMailer renders and sends the password reset messages of the
// reactor (userproj.ResetMailer).
type resetMailer struct {
	mailer  mail.Mailer
	tenants *tenantqry.Reader
	logger  *slog.Logger
}

func (r resetMailer) SendPasswordReset(ctx context.Context, m userproj.ResetMail) error {
	var tenantName string
	if t, err := r.tenants.ByID(ctx, m.TenantID); err == nil {
		tenantName = t.Name
	}
	subject, text, html, err := mail.RenderPasswordReset(mail.PasswordReset{
		Name: m.Name, Email: m.To, Link: m.Link, TenantName: tenantName, ExpiresAt: m.ExpiresAt,
	})
	if err == nil {
		err = r.mailer.Send(ctx, mail.Message{
			ID: m.ID, To: (&netmail.Address{Name: m.Name, Address: m.To}).String(), Subject: subject, Text: text, HTML: html,
		})
	}
	if errors.Is(err, mail.ErrInvalidMessage) {
		// A message that can never be sent (an address the mailer
		// refuses): retrying would not help, so it is logged and dropped
		// rather than retried until the dead-letter limit.
		r.logger.ErrorContext(ctx, "password reset mail dropped", "id", m.ID, "tenant", m.TenantID, "error", err)
		return nil
	}
	return err
}
