package tenant

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
)

// sameAsEncodingJSON checks that decodePayload gives what json.Unmarshal
// gives (value or failure) for payload, and reports whether the fast path
// read it.
func sameAsEncodingJSON[E any](t *testing.T, fields []field[E], payload string) (fast bool) {
	t.Helper()
	var want E
	wantErr := json.Unmarshal([]byte(payload), &want)
	got, err := decodePayload(eventstore.Event{Type: "x", Payload: []byte(payload)}, fields)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%s: error %v, encoding/json says %v", payload, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %#v\nwant %#v", payload, got, want)
	}
	var p E
	return decodeFast([]byte(payload), &p, fields)
}

// TestFieldsCoverThePayloads: every json key of every payload type has a
// reader, so that a payload as marshalled takes the fast path (a new field
// without one would still decode right, through encoding/json, but slowly).
func TestFieldsCoverThePayloads(t *testing.T) {
	check := func(typ reflect.Type, keys []string) {
		t.Helper()
		var want []string
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			want = append(want, name)
		}
		if !reflect.DeepEqual(keys, want) {
			t.Errorf("%s: readers for %v, json keys %v", typ, keys, want)
		}
	}
	keys := func(n int, key func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = key(i)
		}
		return out
	}
	check(reflect.TypeFor[tenant.Created](), keys(len(fieldsCreated), func(i int) string { return fieldsCreated[i].key }))
	check(reflect.TypeFor[tenant.Updated](), keys(len(fieldsUpdated), func(i int) string { return fieldsUpdated[i].key }))
	check(reflect.TypeFor[tenant.DomainAdded](), keys(len(fieldsDomainAdded), func(i int) string { return fieldsDomainAdded[i].key }))
	check(reflect.TypeFor[tenant.DomainRemoved](), keys(len(fieldsDomainRemoved), func(i int) string { return fieldsDomainRemoved[i].key }))
	check(reflect.TypeFor[tenant.Disabled](), keys(len(fieldsDisabled), func(i int) string { return fieldsDisabled[i].key }))
	check(reflect.TypeFor[tenant.Enabled](), keys(len(fieldsEnabled), func(i int) string { return fieldsEnabled[i].key }))
	check(reflect.TypeFor[tenant.ModuleToggled](), keys(len(fieldsModuleToggled), func(i int) string { return fieldsModuleToggled[i].key }))
	check(reflect.TypeFor[tenant.LocaleEnabled](), keys(len(fieldsLocaleEnabled), func(i int) string { return fieldsLocaleEnabled[i].key }))
	check(reflect.TypeFor[tenant.LocaleDisabled](), keys(len(fieldsLocaleDisabled), func(i int) string { return fieldsLocaleDisabled[i].key }))
}

// TestDecodeLikeEncodingJSON: payloads as marshalled (SQLite keeps that
// text) and as PostgreSQL's jsonb prints them take the fast path and give
// encoding/json's result; odd payloads (escapes, nulls, unknown or
// differently cased keys, duplicates, invalid JSON) give it too.
func TestDecodeLikeEncodingJSON(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.UTC)
	marshal := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// jsonb's text form: keys by length then bytes, ", " and ": ".
	created := []string{
		marshal(tenant.Created{TenantID: "t1", Slug: "acme", Name: "Acme Ünïcode", Domains: []string{"a.example.com", "b.example.com"},
			Modules: []string{"blog"}, DefaultLocale: "en", Locales: []string{"en", "de-DE"}, Settings: json.RawMessage(`{"a":{"b":[1,"}\"]"]},"c":null}`), At: at}),
		marshal(tenant.Created{TenantID: "t1", Domains: []string{}, Modules: []string{}, Locales: []string{}, Settings: json.RawMessage(`{}`)}),
		`{"at": "2026-03-02T10:00:00.123456789Z", "name": "Acme", "slug": "acme", "domains": ["a.example.com", "b.example.com"], "locales": ["en"], "modules": [], "settings": {"x": 1, "y": [true, false]}, "tenant_id": "t1", "default_locale": "en"}`,
	}
	for _, p := range created {
		if !sameAsEncodingJSON(t, fieldsCreated, p) {
			t.Errorf("%s did not take the fast path", p)
		}
	}
	plain := []string{
		marshal(tenant.Updated{TenantID: "t1", Name: "New name", At: at}),
		`{"at": "2026-03-02T10:00:00Z", "name": "New name", "tenant_id": "t1"}`,
		" \n{ \"name\" : \"x\" , \"at\":\"2026-03-02T10:00:00+02:00\"}\t",
		`{}`,
	}
	for _, p := range plain {
		if !sameAsEncodingJSON(t, fieldsUpdated, p) {
			t.Errorf("%s did not take the fast path", p)
		}
	}
	if !sameAsEncodingJSON(t, fieldsModuleToggled, marshal(tenant.ModuleToggled{TenantID: "t", Module: "blog", Enabled: true, At: at})) ||
		!sameAsEncodingJSON(t, fieldsModuleToggled, `{"at": "2026-03-02T10:00:00Z", "module": "blog", "enabled": false, "tenant_id": "t"}`) {
		t.Error("module_toggled did not take the fast path")
	}
	for _, p := range []string{
		marshal(tenant.DomainAdded{TenantID: "t", Domain: "x.example.com", At: at}),
	} {
		if !sameAsEncodingJSON(t, fieldsDomainAdded, p) || !sameAsEncodingJSON(t, fieldsDomainRemoved, p) {
			t.Errorf("%s did not take the fast path", p)
		}
	}
	// Odd payloads: the result is encoding/json's, whichever path reads them.
	sameAsEncodingJSON(t, fieldsCreated, marshal(tenant.Created{TenantID: "t1", Slug: "acme", Name: "Acme <&>", At: at}))
	for _, p := range []string{
		`{"name":"a\"b","at":"2026-03-02T10:00:00Z"}`,
		`{"name":"\u00e9","at":"2026-03-02T10:00:00Z"}`,
		`{"name":"tab	in"}`,
		"{\"name\":\"bad \xff utf8\"}",
		"{\"name\":\"surrogate \xed\xa0\x80\"}",
		`{"Name":"cased"}`,
		`{"NAME":"cased","at":"2026-03-02T10:00:00Z"}`,
		`{"name":"first","name":"second"}`,
		`{"name":null}`,
		`{"name":1}`,
		`{"extra":"x","name":"y"}`,
		`{"at":null}`,
		`{"at":"yesterday"}`,
		`{"at":"2026-03-02T10:00:00Z","name":"x",}`,
		`{"name":"x"} trailing`,
		`{"name":"x"`,
		`{"name" "x"}`,
		`[]`,
		`null`,
		``,
		`{"tenant_id":"t","name":"x","at":"2026-03-02T10:00:00.5+01:00"}`,
	} {
		sameAsEncodingJSON(t, fieldsUpdated, p)
	}
	for _, p := range []string{
		`{"domains":null,"modules":["a",null],"settings":null}`,
		`{"domains":["a"],"domains":[]}`,
		`{"domains":[],"domains":["a","b"]}`,
		`{"domains":["a"],"domains":null}`,
		`{"domains":["a",]}`,
		`{"domains":[1]}`,
		`{"settings":{"a":}}`,
		`{"settings":{"a":"}"}}`,
		`{"settings":{"a":"\"}"} }`,
		`{"settings":[1]}`,
		`{"settings":"x"}`,
		`{"settings":{"a":1},"settings":{"b":2}}`,
		`{"settings":{"a":[}]}}`,
		`{"settings":{`,
	} {
		sameAsEncodingJSON(t, fieldsCreated, p)
	}
	for _, p := range []string{`{"enabled":null}`, `{"enabled":truex}`, `{"enabled":"true"}`, `{"enabled":1}`, `{"enabled":false,"enabled":true}`} {
		sameAsEncodingJSON(t, fieldsModuleToggled, p)
	}
}

// TestListsLikeEncodingJSON: decodeList and encodeList give what
// json.Unmarshal and json.Marshal give.
func TestListsLikeEncodingJSON(t *testing.T) {
	for _, s := range []string{`[]`, `["a"]`, `["a", "b"]`, `["a","b"]`, `null`, `["\u00e9"]`, `["a"`, `[1]`, ` [ "x" ] `, `["é"]`} {
		var got, want []string
		err, wantErr := decodeList(s, &got), json.Unmarshal([]byte(s), &want)
		if (err != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("decodeList(%s) = %#v, %v; json.Unmarshal gives %#v, %v", s, got, err, want, wantErr)
		}
	}
	for _, l := range [][]string{nil, {}, {"a"}, {"a.example.com", "b"}, {"<b>", "&"}, {"é"}, {"tab\t"}, {`q"`, `b\`}, {"\x7f", "\u2028", "bad \xff"}} {
		got, err := encodeList(l)
		if err != nil {
			t.Fatal(err)
		}
		if l == nil {
			l = []string{}
		}
		want, _ := json.Marshal(l)
		if got != string(want) {
			t.Errorf("encodeList(%q) = %s, json.Marshal gives %s", l, got, want)
		}
	}
}

// FuzzDecode compares the fast path with encoding/json on any payload.
func FuzzDecode(f *testing.F) {
	f.Add(`{"tenant_id":"t1","slug":"acme","name":"Acme","domains":["a.example.com"],"modules":null,"default_locale":"en","locales":["en"],"settings":{"a":[1,{"b":"}"}]},"at":"2026-03-02T10:00:00Z"}`)
	f.Add(`{"at": "2026-03-02T10:00:00Z", "module": "blog", "enabled": true, "tenant_id": "t"}`)
	f.Fuzz(func(t *testing.T, payload string) {
		sameAsEncodingJSON(t, fieldsCreated, payload)
		sameAsEncodingJSON(t, fieldsModuleToggled, payload)
		var got, want []string
		err, wantErr := decodeList(payload, &got), json.Unmarshal([]byte(payload), &want)
		if (err != nil) != (wantErr != nil) || (err == nil && !reflect.DeepEqual(got, want)) {
			t.Fatalf("decodeList(%s) = %#v, %v; json.Unmarshal gives %#v, %v", payload, got, err, want, wantErr)
		}
	})
}
