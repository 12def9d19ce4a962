package mail_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

// parsed is an RFC 5322 message as a mail client reads it.
type parsed struct {
	Header    mail.Header
	Subject   string // decoded
	To        []*mail.Address
	From      []*mail.Address
	MediaType string
	Text      string
	HTML      string // empty when the message is not multipart
}

// parseMessage reads raw with net/mail and mime/multipart, decoding the
// subject and the parts' transfer encoding, and fails t if anything does not
// parse.
func parseMessage(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, raw)
	}
	var p parsed
	p.Header = msg.Header
	if p.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("decode subject %q: %v", msg.Header.Get("Subject"), err)
	}
	if p.To, err = msg.Header.AddressList("To"); err != nil {
		t.Fatalf("parse To %q: %v", msg.Header.Get("To"), err)
	}
	if p.From, err = msg.Header.AddressList("From"); err != nil {
		t.Fatalf("parse From %q: %v", msg.Header.Get("From"), err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("parse Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	p.MediaType = mediaType
	switch mediaType {
	case "text/plain":
		p.Text = decodeBody(t, msg.Header.Get("Content-Transfer-Encoding"), params["charset"], msg.Body)
	case "multipart/alternative":
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			part, err := mr.NextPart() // decodes quoted-printable itself
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("next part: %v", err)
			}
			pt, pparams, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
			if err != nil {
				t.Fatalf("parse part Content-Type: %v", err)
			}
			body := decodeBody(t, part.Header.Get("Content-Transfer-Encoding"), pparams["charset"], part)
			switch pt {
			case "text/plain":
				p.Text = body
			case "text/html":
				p.HTML = body
			default:
				t.Fatalf("unexpected part %s", pt)
			}
		}
	default:
		t.Fatalf("unexpected media type %s", mediaType)
	}
	return p
}

func decodeBody(t *testing.T, cte, charset string, r io.Reader) string {
	t.Helper()
	if !strings.EqualFold(charset, "utf-8") {
		t.Fatalf("charset %q, want UTF-8", charset)
	}
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "", "7bit", "8bit":
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	// Quoted-printable carries line breaks as CRLF.
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}
