package checkpoint

import (
	"errors"
	"fmt"
)

// Errors for a checkpoint that contradicts one already seen. Both are
// security events: a mirror or origin serving either is refused, never used.
var (
	ErrRollback = errors.New("rollback: checkpoint has fewer records than one already seen")
	ErrFork     = errors.New("fork: checkpoint does not extend the one already seen")
)

// Compare checks a newly fetched checkpoint got against the last one seen,
// have. It returns ErrRollback (wrapped, with both counts) if got has fewer
// records, ErrFork if it has as many but another root or another origin, and
// nil otherwise; a longer got must still be shown to extend have, by
// recomputing its root over have's records and the new ones.
func Compare(have, got Checkpoint) error {
	switch {
	case have.Origin != "" && got.Origin != have.Origin:
		return fmt.Errorf("%w: origin %q, previously %q", ErrFork, got.Origin, have.Origin)
	case got.N < have.N:
		return fmt.Errorf("%w: %d records, previously %d", ErrRollback, got.N, have.N)
	case got.N == have.N && got.Hash != have.Hash:
		return fmt.Errorf("%w: %d records with root %s, previously %s", ErrFork, got.N, got.Hash, have.Hash)
	}
	return nil
}
