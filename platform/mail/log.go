package mail

import (
	"context"
	"log/slog"
)

// logDriver writes each message as one log line.
//
// It writes the whole plain-text body, and with it any secret the message
// carries (a password-reset link is a credential until it expires), to the
// log. It exists for development, where reading the link from the console is
// the point; in production anyone who can read the logs could reset any
// user's password, so the composition root refuses it there.
type logDriver struct {
	composer
	logger *slog.Logger
}

// Send logs m at Info with the message "mail" and the attributes id,
// message_id, to, subject, text and has_html (the HTML body is not logged).
func (d *logDriver) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	d.logger.LogAttrs(ctx, slog.LevelInfo, "mail",
		slog.String("id", m.ID),
		slog.String("message_id", "<"+d.messageID(m.ID)+">"),
		slog.String("to", m.To),
		slog.String("subject", m.Subject),
		slog.String("text", m.Text),
		slog.Bool("has_html", m.HTML != ""),
	)
	return nil
}
