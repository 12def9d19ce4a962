package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"
)

// Mailer sends one message. Send validates m first (Message.Validate) and
// returns its *MessageError without sending anything when m is refused. A
// Mailer is safe for concurrent use.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// The drivers, values of Options.Driver.
const (
	DriverSMTP = "smtp"
	DriverLog  = "log"
	DriverFile = "file"
)

// keyPrefix is the configuration prefix of Options' fields; errors of New name
// the key at fault.
const keyPrefix = "settings.rustok.email."

// Options configure New (keys settings.rustok.email.*). The composition root
// fills them from config.Email.
type Options struct {
	// Driver is DriverSMTP, DriverLog or DriverFile (driver).
	Driver string
	// From is the sender, an RFC 5322 address such as
	// "RusToK <no-reply@example.com>" (from). Its domain is also the right
	// part of every Message-ID.
	From string
	// FileDir is the folder of the file driver (file_dir), created with mode
	// 0700 if missing. Only the file driver reads it.
	FileDir string
	// SMTP configures the smtp driver (smtp.*). Only the smtp driver reads it.
	SMTP SMTP
}

// SMTP configures the smtp driver (keys settings.rustok.email.smtp.*).
type SMTP struct {
	// Host is the SMTP server's name or address (smtp.host), also the name
	// its TLS certificate must carry.
	Host string
	// Port is the SMTP port, 1 to 65535 (smtp.port).
	Port int
	// Username authenticates to the server (smtp.username); empty means no
	// authentication.
	Username string
	// Password authenticates to the server (smtp.password). It never appears
	// in an error, in String or in a log value.
	Password string
	// TLS requires encryption (smtp.tls): implicit TLS on port 465, STARTTLS
	// on any other port, and a server that does not offer it is an error.
	// False means plain text, for a relay on the same host or network.
	TLS bool
}

// String returns s in the form of fmt's %+v with Password redacted.
func (s SMTP) String() string {
	type plain SMTP // no methods: formatting it cannot recurse into String
	return fmt.Sprintf("%+v", plain(s.redacted()))
}

// LogValue returns s with Password redacted, for slog.
func (s SMTP) LogValue() slog.Value {
	s = s.redacted()
	return slog.GroupValue(
		slog.String("host", s.Host), slog.Int("port", s.Port),
		slog.String("username", s.Username), slog.String("password", s.Password),
		slog.Bool("tls", s.TLS),
	)
}

func (s SMTP) redacted() SMTP {
	if s.Password != "" {
		s.Password = "[redacted]"
	}
	return s
}

// Validate reports every problem of o at once (errors.Join), each naming its
// configuration key. It checks only the fields the chosen driver reads.
func (o Options) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s%s: %s", keyPrefix, key, fmt.Sprintf(format, args...)))
	}
	switch o.Driver {
	case DriverSMTP, DriverLog, DriverFile:
	default:
		add("driver", "must be smtp, log or file, got %q", o.Driver)
	}
	if _, err := parseFrom(o.From); err != nil {
		add("from", `must be one email address such as "RusToK <no-reply@example.com>", got %q`, o.From)
	}
	switch o.Driver {
	case DriverFile:
		if strings.TrimSpace(o.FileDir) == "" {
			add("file_dir", "must be set for the file driver")
		}
	case DriverSMTP:
		s := o.SMTP
		if strings.TrimSpace(s.Host) == "" {
			add("smtp.host", "must be set for the smtp driver")
		} else if strings.ContainsAny(s.Host, " \t\r\n/") {
			add("smtp.host", "must be a host name or address, got %q", s.Host)
		}
		if s.Port < 1 || s.Port > 65535 {
			add("smtp.port", "must be between 1 and 65535, got %d", s.Port)
		}
		if s.Username == "" && s.Password != "" {
			add("smtp.username", "must be set when smtp.password is set")
		}
	}
	return errors.Join(errs...)
}

// New returns the Mailer of opts.Driver, or an error naming every invalid
// option's key. The log driver writes to logger, which it requires; the
// other drivers log only at Debug (message id and outcome) and accept a nil
// logger. The file driver creates opts.FileDir now, so that a folder that
// cannot be created is found at start rather than at the first message.
func New(opts Options, logger *slog.Logger) (Mailer, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	from, err := parseFrom(opts.From)
	if err != nil { // checked by Validate
		return nil, fmt.Errorf("mail: %s: %w", keyPrefix+"from", err)
	}
	c := composer{from: from, domain: domainOf(from.Address), now: time.Now}
	if logger == nil {
		if opts.Driver == DriverLog {
			return nil, errors.New("mail: the log driver needs a logger")
		}
		logger = slog.New(slog.DiscardHandler)
	}
	switch opts.Driver {
	case DriverFile:
		return newFileDriver(c, opts.FileDir, logger)
	case DriverLog:
		return &logDriver{composer: c, logger: logger}, nil
	default:
		return newSMTPDriver(c, opts.SMTP, logger), nil
	}
}

// parseFrom parses a sender address: one address, no control characters.
func parseFrom(s string) (*mail.Address, error) {
	if hasControl(s) {
		return nil, ErrHeaderInjection
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	if hasControl(a.Name) || hasControl(a.Address) {
		return nil, ErrHeaderInjection
	}
	return a, nil
}

// domainOf returns the part of addr after its last '@'.
func domainOf(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}
