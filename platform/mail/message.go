package mail

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// Bounds of a Message's fields, in bytes.
const (
	// MaxIDLen bounds Message.ID, which is also a file name.
	MaxIDLen = 200
	// MaxToLen bounds Message.To: a 64-byte local part, '@' and a 255-byte
	// domain.
	MaxToLen = 320
	// MaxSubjectLen bounds Message.Subject, so that its header line stays
	// far below RFC 5322's 998 characters.
	MaxSubjectLen = 250
)

// Message is one email to one recipient.
type Message struct {
	// ID identifies the message across retries; the caller derives it from
	// the event that asked for the message, so that handling the event again
	// sends the same ID. It is a dot-atom of 1 to MaxIDLen letters, digits,
	// '.', '_' and '-' (no leading, trailing or double '.'). It becomes the
	// Message-ID <ID@domain of From> and, in the file driver, the file name
	// <ID>.eml. Use lowercase ids: on a case-insensitive file system "A" and
	// "a" are one file.
	ID string
	// To is the recipient, exactly one RFC 5322 address ("a@example.com" or
	// "Ann <a@example.com>").
	To string
	// Subject is the subject line, UTF-8, at most MaxSubjectLen bytes. It may
	// be empty.
	Subject string
	// Text is the plain-text body, UTF-8. Required.
	Text string
	// HTML is the HTML body, UTF-8. Optional: when set the message is
	// multipart/alternative with Text as its first part.
	HTML string
}

// ErrInvalidMessage is matched (errors.Is) by every error of Validate: the
// message is refused and nothing was sent. The reasons below say why; each
// comes wrapped in a *MessageError naming the field.
var ErrInvalidMessage = errors.New("mail: invalid message")

// Reasons a message is refused.
var (
	// ErrHeaderInjection: a header field (ID, To, Subject) holds CR, LF or
	// another control character, which could end the header and start
	// another.
	ErrHeaderInjection = errors.New("contains CR, LF or another control character")
	// ErrInvalidRecipient: To is not exactly one RFC 5322 address, or is
	// longer than MaxToLen.
	ErrInvalidRecipient = errors.New("must be exactly one email address")
	// ErrInvalidID: the ID is empty, longer than MaxIDLen, or not a dot-atom
	// of letters, digits, '.', '_' and '-'.
	ErrInvalidID = errors.New("must be 1 to 200 letters, digits, '.', '_' or '-', without a leading, trailing or double '.'")
	// ErrMissingText: the plain-text body is empty.
	ErrMissingText = errors.New("is required")
	// ErrSubjectTooLong: the subject is longer than MaxSubjectLen bytes.
	ErrSubjectTooLong = errors.New("is longer than 250 bytes")
	// ErrInvalidUTF8: a field is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("is not valid UTF-8")
)

// MessageError is a refused message: Field (ID, To, Subject, Text or HTML)
// is at fault for the reason Err. It matches ErrInvalidMessage and unwraps
// to Err. Its text never quotes the field's value.
type MessageError struct {
	Field string
	Err   error
}

func (e *MessageError) Error() string {
	return fmt.Sprintf("%s: %s %s", ErrInvalidMessage, e.Field, e.Err)
}

// Unwrap returns the reason.
func (e *MessageError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidMessage, so that every refused
// message matches it.
func (e *MessageError) Is(target error) bool { return target == ErrInvalidMessage }

// Validate reports the first problem of m as a *MessageError, or nil if every
// driver can send m. A message that validates yields header fields without
// CR or LF: the only line breaks in the header are the ones the writer puts
// there.
func (m Message) Validate() error {
	_, err := m.recipient()
	return err
}

// recipient validates m and returns its parsed recipient.
func (m Message) recipient() (*mail.Address, error) {
	refuse := func(field string, reason error) (*mail.Address, error) {
		return nil, &MessageError{Field: field, Err: reason}
	}
	switch {
	case hasControl(m.ID):
		return refuse("ID", ErrHeaderInjection)
	case !validID(m.ID):
		return refuse("ID", ErrInvalidID)
	}

	switch {
	case hasControl(m.To):
		return refuse("To", ErrHeaderInjection)
	case !utf8.ValidString(m.To):
		return refuse("To", ErrInvalidUTF8)
	case len(m.To) > MaxToLen:
		return refuse("To", ErrInvalidRecipient)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return refuse("To", ErrInvalidRecipient)
	}
	// An RFC 2047 name can decode to anything, CR and LF included.
	if hasControl(to.Name) || hasControl(to.Address) {
		return refuse("To", ErrHeaderInjection)
	}
	if !utf8.ValidString(to.Name) {
		return refuse("To", ErrInvalidUTF8)
	}

	switch {
	case hasControl(m.Subject):
		return refuse("Subject", ErrHeaderInjection)
	case !utf8.ValidString(m.Subject):
		return refuse("Subject", ErrInvalidUTF8)
	case len(m.Subject) > MaxSubjectLen:
		return refuse("Subject", ErrSubjectTooLong)
	}

	switch {
	case m.Text == "":
		return refuse("Text", ErrMissingText)
	case !utf8.ValidString(m.Text):
		return refuse("Text", ErrInvalidUTF8)
	case !utf8.ValidString(m.HTML):
		return refuse("HTML", ErrInvalidUTF8)
	}
	return to, nil
}

// validID reports whether id is a dot-atom of 1 to MaxIDLen characters from
// [A-Za-z0-9._-]: a valid left part of a Message-ID and a safe file name.
func validID(id string) bool {
	if id == "" || len(id) > MaxIDLen || id[0] == '.' || id[len(id)-1] == '.' || strings.Contains(id, "..") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// hasControl reports whether s holds an ASCII control character (CR and LF
// among them, tab too) or DEL.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// composer builds the RFC 5322 form of messages, the same for every driver.
type composer struct {
	from   *mail.Address
	domain string // of from; the right part of Message-IDs
	now    func() time.Time
}

// messageID returns the Message-ID of the message id, without its angle
// brackets.
func (c composer) messageID(id string) string {
	return id + "@" + c.domain
}

// compose validates m and builds its go-mail message: From, To, Subject
// (RFC 2047 when not ASCII), Date, Message-ID, MIME-Version, and a UTF-8
// quoted-printable body, text/plain or multipart/alternative.
func (c composer) compose(m Message) (*gomail.Msg, error) {
	to, err := m.recipient()
	if err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(
		gomail.WithNoDefaultUserAgent(),
		gomail.WithCharset(gomail.CharsetUTF8),
		gomail.WithEncoding(gomail.EncodingQP),
	)
	msg.FromMailAddress(c.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetDateWithValue(c.now())
	msg.SetMessageIDWithValue(c.messageID(m.ID))
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
