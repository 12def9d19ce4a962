package migrations

import (
	"errors"
	"strings"
	"testing"
)

// TestDecideRepair is the table of dirty-mark decisions: what a dirty mark
// found at start means, given what the database holds, and what the runner
// does about it. A refusal is one sentence naming the command to run.
func TestDecideRepair(t *testing.T) {
	tests := []struct {
		name       string
		state      dirtyState
		want       repairAction
		wantInErr  []string
		wantNoNext bool
	}{
		{
			name:  "rolled back (SQLite, or any crash before the file's commit): the previous version, then apply it again",
			state: dirtyState{version: 2, known: true, this: presenceNone, prev: 1},
			want:  repairMarkPrev,
		},
		{
			name:  "the first migration rolled back: no version, then apply it again",
			state: dirtyState{version: 1, known: true, this: presenceNone, hasNext: true, nextVersion: 2, next: presenceNone},
			want:  repairMarkPrev,
		},
		{
			name:  "committed but the mark not cleared (PostgreSQL's common case): this version",
			state: dirtyState{version: 2, known: true, this: presenceAll, prev: 1},
			want:  repairMarkThis,
		},
		{
			name:  "committed, with a later migration not applied: this version",
			state: dirtyState{version: 1, known: true, this: presenceAll, hasNext: true, nextVersion: 2, next: presenceNone},
			want:  repairMarkThis,
		},
		{
			name:  "committed, the next migration unverifiable: this version (an interrupted up is the likely cause)",
			state: dirtyState{version: 1, known: true, this: presenceAll, hasNext: true, nextVersion: 2, next: presenceUnknown},
			want:  repairMarkThis,
		},
		{
			name:  "golang-migrate's down of the next migration rolled back: the next version",
			state: dirtyState{version: 1, known: true, this: presenceAll, hasNext: true, nextVersion: 2, next: presenceAll},
			want:  repairMarkNext,
		},
		{
			name:  "dirty nil version, the first migration's down rolled back: the first version",
			state: dirtyState{version: 0, known: true, this: presenceAll, hasNext: true, nextVersion: 1, next: presenceAll},
			want:  repairMarkNext,
		},
		{
			name:  "dirty nil version, the first migration's down committed: no version",
			state: dirtyState{version: 0, known: true, this: presenceAll, hasNext: true, nextVersion: 1, next: presenceNone},
			want:  repairMarkThis,
		},
		{
			name:  "a no-transaction migration: run it again",
			state: dirtyState{version: 3, known: true, noTx: true, this: presencePartial, missing: []string{"index a"}, prev: 2},
			want:  repairRerun,
		},
		{
			name:      "a version this binary does not know: refuse, naming force",
			state:     dirtyState{version: 9},
			want:      repairRefuse,
			wantInErr: []string{"dirty at version 9", "does not know", "`rustok migrate force VERSION`"},
		},
		{
			name:      "partly applied (changed by hand): refuse, naming both force commands",
			state:     dirtyState{version: 2, known: true, this: presencePartial, missing: []string{"table rm_tenant_domains"}, prev: 1},
			want:      repairRefuse,
			wantInErr: []string{"only partly applied", "missing table rm_tenant_domains", "`rustok migrate force 2`", "`rustok migrate force 1`"},
		},
		{
			name:      "nothing to check: refuse, naming both force commands",
			state:     dirtyState{version: 3, known: true, this: presenceUnknown, prev: 2},
			want:      repairRefuse,
			wantInErr: []string{"creates nothing that can be checked", "`rustok migrate force 3`", "`rustok migrate force 2`"},
		},
		{
			name:      "the next migration partly applied: refuse",
			state:     dirtyState{version: 1, known: true, this: presenceAll, hasNext: true, nextVersion: 2, next: presencePartial, nextMissing: []string{"index x"}},
			want:      repairRefuse,
			wantInErr: []string{"migration 2 is only partly applied", "missing index x", "`rustok migrate force 2`", "`rustok migrate force 1`"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decideRepair(tc.state)
			if got != tc.want {
				t.Errorf("action %q, want %q", got, tc.want)
			}
			if tc.want != repairRefuse {
				if err != nil {
					t.Errorf("error %v, want none", err)
				}
				return
			}
			if !errors.Is(err, ErrDirty) {
				t.Fatalf("error %v does not match ErrDirty", err)
			}
			msg := err.Error()
			for _, want := range tc.wantInErr {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			if strings.Count(msg, ". ") > 0 || strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one sentence", msg)
			}
		})
	}
}
