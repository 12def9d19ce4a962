package mail

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// implicitTLSPort is the submissions port (RFC 8314), where TLS starts
// before SMTP.
const implicitTLSPort = 465

// smtpDriver delivers each message over a new SMTP connection.
type smtpDriver struct {
	composer
	opts   SMTP
	logger *slog.Logger
}

func newSMTPDriver(c composer, opts SMTP, logger *slog.Logger) *smtpDriver {
	return &smtpDriver{composer: c, opts: opts, logger: logger}
}

func (d *smtpDriver) implicitTLS() bool { return d.opts.TLS && d.opts.Port == implicitTLSPort }

// Send delivers m in one SMTP session: connect (implicit TLS or STARTTLS when
// SMTP.TLS is set), authenticate when a username is set, MAIL, RCPT, DATA,
// QUIT. ctx bounds the whole session: when it ends the connection is closed
// and Send returns an error that matches ctx.Err(). The error never holds the
// password.
func (d *smtpDriver) Send(ctx context.Context, m Message) error {
	msg, err := d.compose(m)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(d.opts.Host, strconv.Itoa(d.opts.Port))
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: smtp send %s to %s: %w", m.ID, addr, err)
	}

	// go-mail's context bounds only the dial; each later command has its own
	// timeout. Closing the connection when ctx ends bounds the rest. go-mail
	// also leaves the connection open when the session fails before MAIL
	// (STARTTLS or AUTH refused), so it is closed here in every case once
	// the session is over.
	var raw net.Conn
	var stop func() bool
	defer func() {
		if raw != nil {
			stop()
			_ = raw.Close() // already closed after a QUIT
		}
	}()
	dial := func(dctx context.Context, network, address string) (net.Conn, error) {
		conn, err := d.dial(dctx, network, address)
		if err != nil {
			return nil, err
		}
		raw = conn
		if tc, ok := conn.(*tls.Conn); ok {
			raw = tc.NetConn()
		}
		stop = context.AfterFunc(ctx, func() { _ = raw.Close() })
		return conn, nil
	}

	// A client per message: go-mail's Client keeps per-session state, and
	// one SMTP session per message is what a reactor sending one message per
	// event needs.
	client, err := gomail.NewClient(d.opts.Host, d.clientOptions(dial)...)
	if err != nil {
		return d.redact(fmt.Errorf("mail: smtp client for %s: %w", addr, err))
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err != nil && msg.IsDelivered() {
		// The server took the message; only the end of the session (QUIT)
		// failed. Reporting an error would make the caller send it again.
		d.logger.DebugContext(ctx, "mail sent, session ended badly", "id", m.ID, "server", addr, "err", d.redact(err))
		return nil
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return d.redact(fmt.Errorf("mail: smtp send %s to %s: %w: %w", m.ID, addr, cerr, err))
		}
		return d.redact(fmt.Errorf("mail: smtp send %s to %s: %w", m.ID, addr, err))
	}
	d.logger.DebugContext(ctx, "mail sent", "id", m.ID, "server", addr)
	return nil
}

func (d *smtpDriver) clientOptions(dial gomail.DialContextFunc) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(d.opts.Port),
		gomail.WithDialContextFunc(dial),
	}
	switch {
	case !d.opts.TLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case d.implicitTLS():
		// dial starts TLS; no STARTTLS inside it.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory),
			gomail.WithTLSConfig(d.tlsConfig()))
	}
	if d.opts.Username != "" {
		// PLAIN and LOGIN refuse an unencrypted connection except to
		// localhost; a server that offers neither gets go-mail's choice.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(d.opts.Username),
			gomail.WithPassword(d.opts.Password))
	}
	return opts
}

func (d *smtpDriver) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: d.opts.Host, MinVersion: tls.VersionTLS12}
}

// dial connects to the server, with TLS first on the submissions port.
func (d *smtpDriver) dial(ctx context.Context, network, address string) (net.Conn, error) {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, network, address)
	if err != nil || !d.implicitTLS() {
		return conn, err
	}
	tc := tls.Client(conn, d.tlsConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	return tc, nil
}

// redact returns err, or when its text holds the password (as is, or in
// base64 as AUTH PLAIN and LOGIN send it, should a server echo a command) an
// error whose text has it replaced by "[redacted]". The result unwraps to
// err, so errors.Is and errors.As see through it; only its own text is
// redacted.
func (d *smtpDriver) redact(err error) error {
	p := d.opts.Password
	if err == nil || p == "" {
		return err
	}
	msg := err.Error()
	for _, secret := range []string{
		base64.StdEncoding.EncodeToString([]byte("\x00" + d.opts.Username + "\x00" + p)),
		base64.StdEncoding.EncodeToString([]byte(p)),
		p,
	} {
		msg = strings.ReplaceAll(msg, secret, "[redacted]")
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose text was redacted.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap returns the original error, whose own text is not redacted.
func (e *redactedError) Unwrap() error { return e.err }
