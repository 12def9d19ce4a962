package mail

import (
	"bytes"
	"errors"
	"mime"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// FuzzValidateMessage checks that Validate never panics, refuses only with a
// *MessageError, and that a message it accepts is written with exactly the
// header fields it should have, none of them holding CR or LF, with the
// recipient, subject and Message-ID it was given.
func FuzzValidateMessage(f *testing.F) {
	f.Add("evt-1", "zoe@example.org", "Hello", "text", "")
	f.Add("evt-2", "Zoë <zoe@example.org>", "Réinitialiser ✓", "t", "<p>h</p>")
	f.Add("evt-3", "zoe@example.org\r\nBcc: all@example.org", "s", "t", "")
	f.Add("evt-4", "zoe@example.org", "Hi\r\nBcc: all@example.org", "t", "")
	f.Add("evt-5", "=?utf-8?q?Zoe=0D=0AX?= <zoe@example.org>", "s", "t", "")
	f.Add("a..b", `"a\"b" <zoe@example.org>`, strings.Repeat("word ", 50), "t", "h")
	f.Add("x", "a@b, c@d", "=?utf-8?q?=0D=0ABcc:_x?=", "t", "")
	f.Add("y", "undisclosed: a@b.c;", strings.Repeat("é", 125), "t", "")
	f.Add("z", "a@b.c", " ", "t", "")

	from, err := parseFrom("RusToK <no-reply@example.com>")
	if err != nil {
		f.Fatal(err)
	}
	c := composer{from: from, domain: "example.com", now: func() time.Time { return time.Unix(1700000000, 0) }}

	f.Fuzz(func(t *testing.T, id, to, subject, text, html string) {
		m := Message{ID: id, To: to, Subject: subject, Text: text, HTML: html}
		err := m.Validate()
		if err != nil {
			var me *MessageError
			if !errors.As(err, &me) || !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("Validate = %v, not a *MessageError", err)
			}
			return
		}
		msg, err := c.compose(m)
		if err != nil {
			t.Fatalf("compose after Validate: %v", err)
		}
		var buf bytes.Buffer
		if _, err := msg.WriteTo(&buf); err != nil {
			t.Fatalf("write: %v", err)
		}
		head, _, ok := bytes.Cut(buf.Bytes(), []byte("\r\n\r\n"))
		if !ok {
			t.Fatalf("no end of header:\n%q", buf.Bytes())
		}
		// Each line of the header is a field or the continuation of one.
		want := map[string]bool{"Date": true, "Mime-Version": true, "Message-Id": true, "Subject": true, "From": true, "To": true, "Content-Type": true, "Content-Transfer-Encoding": true}
		for i, line := range strings.Split(string(head), "\r\n") {
			if strings.ContainsAny(line, "\r\n") {
				t.Fatalf("header line %d holds a bare CR or LF: %q", i, line)
			}
			if len(line) > 998 {
				t.Fatalf("header line %d is %d bytes long", i, len(line))
			}
			if line == "" || line[0] == ' ' || line[0] == '\t' {
				continue
			}
			name, _, ok := strings.Cut(line, ":")
			if !ok || !want[textproto.CanonicalMIMEHeaderKey(name)] {
				t.Fatalf("unexpected header line %q in\n%s", line, head)
			}
		}

		parsed, err := mail.ReadMessage(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("read: %v\n%s", err, head)
		}
		for name, values := range parsed.Header {
			if !want[name] || len(values) != 1 {
				t.Fatalf("header %s: %q", name, values)
			}
		}
		if got, want := parsed.Header.Get("Message-Id"), "<"+id+"@example.com>"; got != want {
			t.Fatalf("Message-ID %q, want %q", got, want)
		}
		wantTo, _ := mail.ParseAddress(to)
		gotTo, err := parsed.Header.AddressList("To")
		if err != nil || len(gotTo) != 1 || gotTo[0].Address != wantTo.Address || gotTo[0].Name != wantTo.Name {
			t.Fatalf("To %v (%v), want %v", gotTo, err, wantTo)
		}
		// A subject that looks like an encoded word is decoded by readers:
		// compare only the others. Readers drop the blanks around a value.
		if !strings.Contains(subject, "=?") {
			got, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
			if want := strings.Trim(subject, " "); err != nil || got != want {
				t.Fatalf("Subject %q (%v), want %q", got, err, want)
			}
		}
	})
}
