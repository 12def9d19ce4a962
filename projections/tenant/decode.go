package tenant

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
)

// Decoding is most of the fold's work (a batch of 1000 events decodes 1000
// payloads and the JSON lists of every row it loads), so the projection reads
// the shapes it knows itself: flat JSON objects of known keys with plain
// strings (no escapes), booleans, lists of plain strings, a time and one raw
// object. Anything else — an escape, an unknown key, a null where a string
// belongs, invalid JSON — goes to encoding/json, so the result is always what
// encoding/json gives (the tests compare the two).

// field is one key of a payload type E and how to read its value into p.
type field[E any] struct {
	key  string
	read func(d *decoder, p *E) bool
}

// decodeFast reads the JSON object b into p, which must be E's zero value.
// It reports false when b is not of the shapes it knows (p is then
// partly filled: decode again with encoding/json).
func decodeFast[E any](b []byte, p *E, fields []field[E]) bool {
	d := decoder{b: b}
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return d.end()
	}
	for {
		k, ok := d.plainString()
		if !ok || !d.next(':') {
			return false
		}
		var f *field[E]
		for i := range fields {
			if fields[i].key == string(k) {
				f = &fields[i]
				break
			}
		}
		if f == nil || !f.read(&d, p) {
			return false
		}
		if d.next(',') {
			continue
		}
		return d.next('}') && d.end()
	}
}

// decodePayload decodes e's payload into an E, as relay.FoldOn does, reading
// the shapes fields knows itself.
func decodePayload[E any](e eventstore.Event, fields []field[E]) (E, error) {
	var p E
	if decodeFast(e.Payload, &p, fields) {
		return p, nil
	}
	var q E
	if err := json.Unmarshal(e.Payload, &q); err != nil {
		return q, fmt.Errorf("decode %s payload at position %d: %w", e.Type, e.Position, err)
	}
	return q, nil
}

// foldOn is relay.FoldOn with decodePayload.
func foldOn[E any](fields []field[E], fn func(r *relay.Row[row], p E, e eventstore.Event) error) relay.FoldHandler[row] {
	return func(r *relay.Row[row], e eventstore.Event) error {
		p, err := decodePayload(e, fields)
		if err != nil {
			return err
		}
		return fn(r, p, e)
	}
}

// decoder reads JSON from b at i.
type decoder struct {
	b []byte
	i int
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next consumes c (after white space) if it comes next.
func (d *decoder) next(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (d *decoder) end() bool {
	d.space()
	return d.i == len(d.b)
}

// literal consumes lit (true, false, null) if it comes next.
func (d *decoder) literal(lit string) bool {
	d.space()
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// plainString reads a string without escapes or control characters, in
// valid UTF-8 — which encoding/json takes as it is — and returns its
// contents (part of b).
func (d *decoder) plainString() ([]byte, bool) {
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	start, ascii := d.i+1, true
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			s := d.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			d.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

func (d *decoder) str(dst *string) bool {
	s, ok := d.plainString()
	*dst = string(s)
	return ok
}

func (d *decoder) boolean(dst *bool) bool {
	switch {
	case d.literal("true"):
		*dst = true
	case d.literal("false"):
		*dst = false
	default:
		return false
	}
	return true
}

// time reads a string with time.Time's UnmarshalJSON, as encoding/json does.
func (d *decoder) time(dst *time.Time) bool {
	d.space()
	start := d.i
	if _, ok := d.plainString(); !ok {
		return false
	}
	return dst.UnmarshalJSON(d.b[start:d.i]) == nil
}

// strings reads a list of strings: null is a nil list, [] an empty one.
func (d *decoder) strings(dst *[]string) bool {
	if d.literal("null") {
		*dst = nil
		return true
	}
	if !d.next('[') {
		return false
	}
	list := []string{}
	if !d.next(']') {
		for {
			var s string
			if !d.str(&s) {
				return false
			}
			list = append(list, s)
			if d.next(',') {
				continue
			}
			if !d.next(']') {
				return false
			}
			break
		}
	}
	*dst = list
	return true
}

// object reads a JSON object as it is written (a json.RawMessage).
func (d *decoder) object(dst *json.RawMessage) bool {
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	start, depth, inString := d.i, 0, false
	for j := start; j < len(d.b); j++ {
		c := d.b[j]
		if inString {
			switch c {
			case '\\':
				j++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				v := d.b[start : j+1]
				if !json.Valid(v) {
					return false
				}
				*dst = slices.Clone(v)
				d.i = j + 1
				return true
			}
		}
	}
	return false
}

// decodeList reads a stored JSON list of strings (rm_tenants.domains,
// modules, locales), as json.Unmarshal into a []string does.
func decodeList(s string, dst *[]string) error {
	d := decoder{b: []byte(s)}
	var list []string
	if d.strings(&list) && d.end() {
		*dst = list
		return nil
	}
	return json.Unmarshal([]byte(s), dst)
}

// encodeList writes list as json.Marshal does (nil as []): strings of
// printable ASCII that json.Marshal leaves alone are written as they are,
// any other list goes through json.Marshal.
func encodeList(list []string) (string, error) {
	if list == nil {
		return "[]", nil
	}
	n := 2
	for _, s := range list {
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&':
				b, err := json.Marshal(list)
				return string(b), err
			}
		}
		n += len(s) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
	}
	b = append(b, ']')
	return string(b), nil
}

// The payloads' keys (their json tags) and how each is read.
var (
	fieldsCreated = []field[tenant.Created]{
		{"tenant_id", func(d *decoder, p *tenant.Created) bool { return d.str(&p.TenantID) }},
		{"slug", func(d *decoder, p *tenant.Created) bool { return d.str(&p.Slug) }},
		{"name", func(d *decoder, p *tenant.Created) bool { return d.str(&p.Name) }},
		{"domains", func(d *decoder, p *tenant.Created) bool { return d.strings(&p.Domains) }},
		{"modules", func(d *decoder, p *tenant.Created) bool { return d.strings(&p.Modules) }},
		{"default_locale", func(d *decoder, p *tenant.Created) bool { return d.str(&p.DefaultLocale) }},
		{"locales", func(d *decoder, p *tenant.Created) bool { return d.strings(&p.Locales) }},
		{"settings", func(d *decoder, p *tenant.Created) bool { return d.object(&p.Settings) }},
		{"at", func(d *decoder, p *tenant.Created) bool { return d.time(&p.At) }},
	}
	fieldsUpdated = []field[tenant.Updated]{
		{"tenant_id", func(d *decoder, p *tenant.Updated) bool { return d.str(&p.TenantID) }},
		{"name", func(d *decoder, p *tenant.Updated) bool { return d.str(&p.Name) }},
		{"at", func(d *decoder, p *tenant.Updated) bool { return d.time(&p.At) }},
	}
	fieldsDomainAdded = []field[tenant.DomainAdded]{
		{"tenant_id", func(d *decoder, p *tenant.DomainAdded) bool { return d.str(&p.TenantID) }},
		{"domain", func(d *decoder, p *tenant.DomainAdded) bool { return d.str(&p.Domain) }},
		{"at", func(d *decoder, p *tenant.DomainAdded) bool { return d.time(&p.At) }},
	}
	fieldsDomainRemoved = []field[tenant.DomainRemoved]{
		{"tenant_id", func(d *decoder, p *tenant.DomainRemoved) bool { return d.str(&p.TenantID) }},
		{"domain", func(d *decoder, p *tenant.DomainRemoved) bool { return d.str(&p.Domain) }},
		{"at", func(d *decoder, p *tenant.DomainRemoved) bool { return d.time(&p.At) }},
	}
	fieldsDisabled = []field[tenant.Disabled]{
		{"tenant_id", func(d *decoder, p *tenant.Disabled) bool { return d.str(&p.TenantID) }},
		{"at", func(d *decoder, p *tenant.Disabled) bool { return d.time(&p.At) }},
	}
	fieldsEnabled = []field[tenant.Enabled]{
		{"tenant_id", func(d *decoder, p *tenant.Enabled) bool { return d.str(&p.TenantID) }},
		{"at", func(d *decoder, p *tenant.Enabled) bool { return d.time(&p.At) }},
	}
	fieldsModuleToggled = []field[tenant.ModuleToggled]{
		{"tenant_id", func(d *decoder, p *tenant.ModuleToggled) bool { return d.str(&p.TenantID) }},
		{"module", func(d *decoder, p *tenant.ModuleToggled) bool { return d.str(&p.Module) }},
		{"enabled", func(d *decoder, p *tenant.ModuleToggled) bool { return d.boolean(&p.Enabled) }},
		{"at", func(d *decoder, p *tenant.ModuleToggled) bool { return d.time(&p.At) }},
	}
	fieldsLocaleEnabled = []field[tenant.LocaleEnabled]{
		{"tenant_id", func(d *decoder, p *tenant.LocaleEnabled) bool { return d.str(&p.TenantID) }},
		{"locale", func(d *decoder, p *tenant.LocaleEnabled) bool { return d.str(&p.Locale) }},
		{"at", func(d *decoder, p *tenant.LocaleEnabled) bool { return d.time(&p.At) }},
	}
	fieldsLocaleDisabled = []field[tenant.LocaleDisabled]{
		{"tenant_id", func(d *decoder, p *tenant.LocaleDisabled) bool { return d.str(&p.TenantID) }},
		{"locale", func(d *decoder, p *tenant.LocaleDisabled) bool { return d.str(&p.Locale) }},
		{"at", func(d *decoder, p *tenant.LocaleDisabled) bool { return d.time(&p.At) }},
	}
)
