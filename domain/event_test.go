package domain_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/rustok/rustok/domain"
)

var errUnknownEvent = errors.New("unknown event")

type thingRenamed struct {
	ThingID string    `json:"thing_id"`
	Name    string    `json:"name"`
	At      time.Time `json:"at"`
}

func (thingRenamed) EventType() string  { return "thing.renamed" }
func (thingRenamed) SchemaVersion() int { return 2 }

func TestDecodeEvent(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		schemaVersion int
		payload       string
		want          domain.Event
		wantErr       error
		wantMessage   string
	}{
		{
			name: "current schema version decodes", schemaVersion: 2,
			payload: `{"thing_id":"t1","name":"new","at":"2024-05-01T12:00:00Z"}`,
			want:    thingRenamed{ThingID: "t1", Name: "new", At: at},
		},
		{
			name: "unknown fields are ignored", schemaVersion: 2,
			payload: `{"thing_id":"t1","name":"new","at":"2024-05-01T12:00:00Z","extra":1}`,
			want:    thingRenamed{ThingID: "t1", Name: "new", At: at},
		},
		{
			name: "another schema version is an unknown event", schemaVersion: 1, payload: `{}`,
			wantErr: errUnknownEvent, wantMessage: "decode thing.renamed schema version 1: unknown event",
		},
		{
			name: "malformed payload is a JSON error", schemaVersion: 2, payload: `{"name":`,
			wantMessage: "decode thing.renamed: unexpected end of JSON input",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.DecodeEvent[thingRenamed](tc.schemaVersion, []byte(tc.payload), errUnknownEvent)
			if tc.wantMessage != "" {
				if err == nil || err.Error() != tc.wantMessage {
					t.Fatalf("DecodeEvent() error = %v, want %q", err, tc.wantMessage)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("DecodeEvent() error = %v, want one wrapping %v", err, tc.wantErr)
				}
				var syntax *json.SyntaxError
				if tc.wantErr == nil && !errors.As(err, &syntax) {
					t.Errorf("DecodeEvent() error = %v, want a JSON syntax error", err)
				}
				if got != nil {
					t.Errorf("DecodeEvent() = %#v with an error, want nil", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeEvent() error = %v", err)
			}
			if got != tc.want {
				t.Errorf("DecodeEvent() = %#v, want %#v", got, tc.want)
			}
		})
	}
}
