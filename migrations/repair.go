package migrations

import "strings"

// presence says how much of what a migration creates is in the database.
type presence int

// The presences a dirty mark is judged by.
const (
	// presenceAll: every object the migration creates exists (also for a
	// migration that creates nothing checkable, when none is expected).
	presenceAll presence = iota
	// presenceNone: none of them exists.
	presenceNone
	// presencePartial: some exist and some do not.
	presencePartial
	// presenceUnknown: the migration creates no table, index or column
	// that could be looked for.
	presenceUnknown
)

func (p presence) String() string {
	return [...]string{"all", "none", "partial", "unknown"}[p]
}

// dirtyState is what the runner knows about a dirty mark found at start.
type dirtyState struct {
	// version is the dirty version (0: golang-migrate's dirty "nil version",
	// left by an interrupted down of the first migration).
	version uint
	// known reports whether this binary has a migration of that version
	// (always true for version 0).
	known bool
	// noTx reports whether that migration's up file runs outside a
	// transaction (rustok:no-transaction).
	noTx bool
	// this is the presence of the version's objects (presenceAll for 0).
	this presence
	// missing names the absent objects when this is presencePartial.
	missing []string
	// hasNext reports whether this binary has a migration after version.
	hasNext bool
	// nextVersion is that migration's version.
	nextVersion uint
	// next is the presence of the next migration's objects.
	next presence
	// nextMissing names the absent objects when next is presencePartial.
	nextMissing []string
	// prev is the version before this one (0 when none).
	prev uint
}

// repairAction is what the runner does about a dirty mark.
type repairAction int

// The repair actions.
const (
	// repairMarkThis: the dirty version is wholly applied (a crash between
	// its commit and the clearing of the mark): mark it clean.
	repairMarkThis repairAction = iota
	// repairMarkPrev: it was rolled back: mark the version before it clean,
	// and apply it again.
	repairMarkPrev
	// repairMarkNext: the next version is wholly applied too (golang-migrate
	// marks version N dirty while it reverts N+1, and the revert was rolled
	// back): mark the next version clean.
	repairMarkNext
	// repairRerun: a no-transaction migration, idempotent by rule: drop the
	// invalid indexes it may have left and run it again.
	repairRerun
	// repairRefuse: the state cannot be judged safely; the operator
	// decides, told how in one sentence.
	repairRefuse
)

func (a repairAction) String() string {
	return [...]string{"mark this version applied", "mark the previous version", "mark the next version applied", "run it again", "refuse"}[a]
}

// decideRepair judges a dirty mark. Every migration file this runner
// applies in a transaction commits with its version mark, so a dirty mark
// comes from an older binary (golang-migrate's three steps: mark dirty, run
// the file in its own transaction, clear the mark), from golang-migrate's
// tools, or from a no-transaction file. Transactional files are all or
// nothing, so the objects a file creates tell whether it committed; a
// partial set means someone changed the schema by hand. It returns the
// action and, for repairRefuse, the error for the operator: one sentence
// naming the command to run.
func decideRepair(s dirtyState) (repairAction, error) {
	v := s.version
	switch {
	case !s.known:
		return repairRefuse, dirtyf("database schema is dirty at version %d, which this rustok does not know: run the newer rustok that wrote it, or check the schema by hand and run `rustok migrate force VERSION` with the version it is at", v)
	case s.noTx:
		return repairRerun, nil
	case s.this == presencePartial:
		return repairRefuse, dirtyf("database schema is dirty at version %d and only partly applied (missing %s): complete or undo migration %d by hand, then run `rustok migrate force %d` or `rustok migrate force %d`", v, strings.Join(s.missing, ", "), v, v, s.prev)
	case s.this == presenceUnknown:
		return repairRefuse, dirtyf("database schema is dirty at version %d, and migration %d creates nothing that can be checked automatically: check by hand whether it is applied, then run `rustok migrate force %d` if it is or `rustok migrate force %d` if it is not", v, v, v, s.prev)
	case s.this == presenceNone:
		if v == 0 {
			return repairMarkThis, nil
		}
		return repairMarkPrev, nil
	}
	// Everything of this version is there: an interrupted down of the next
	// one may have been rolled back.
	if !s.hasNext {
		return repairMarkThis, nil
	}
	switch s.next {
	case presenceAll:
		return repairMarkNext, nil
	case presencePartial:
		return repairRefuse, dirtyf("database schema is dirty at version %d and migration %d is only partly applied (missing %s): complete or undo it by hand, then run `rustok migrate force %d` or `rustok migrate force %d`", v, s.nextVersion, strings.Join(s.nextMissing, ", "), s.nextVersion, v)
	}
	// presenceNone, or presenceUnknown: an interrupted up of this version
	// (the common case, left by an older binary) is far likelier than a
	// rolled-back down of the next whose effects cannot be checked; if it
	// was the down, the next up fails on the objects that exist.
	return repairMarkThis, nil
}
