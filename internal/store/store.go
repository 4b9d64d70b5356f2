// Package store owns the persistent state of the checker and the hub: the
// passes the checker has made over the mirror registry, what each pass found
// at each mirror and access point, the problems it saw, what each mirror is
// verified to hold, and a little cached origin state.
//
// The state is reached only through the Store interface; no SQL lives
// outside this package. Implementations: OpenSQLite (embedded, the
// default), OpenPostgres (several hub or checker nodes sharing one state;
// the same statements over a schema of its own) and NewMemory (for tests
// and throw-away runs). The conformance suite in package storetest runs
// against every implementation, PostgreSQL on a real server (pgtest).
//
// # Model
//
// A pass is one round of the checker over every mirror. For each mirror it
// checked, a pass records one MirrorResult: a result per access point, the
// problems seen and the state of the objects checked. Recording the same
// mirror in the same pass again replaces what that pass said about it, so a
// re-run never duplicates anything. A mirror's results must be recorded in
// pass order.
//
// Problems are kept per mirror, access point, kind and path, and counted by
// kind for every result, so a mirror's history shows what was wrong when. A problem seen
// in consecutive results of a mirror keeps the time and pass it was first
// seen; one that went away and came back starts again. The problems of a
// mirror's latest result are its current problems.
//
// Object states are kept per mirror, access point and path: the newest
// state recorded wins. Together they say "mirror M was verified to hold
// object P at journal record R (size, SHA-256) over access point A", which
// the hub compiles into its availability map.
//
// Download counts are kept per day, object, mirror, country and source, and
// added to in idempotent batches; see StatBatch.
//
// History is kept until Prune forgets it (the hub prunes after every pass,
// keeping store.keep of it); a mirror's latest result and current problems
// are always kept.
//
// Times are kept in UTC to the microsecond, lags in whole seconds.
package store

import (
	"context"
	"errors"
	"time"
)

// A Store keeps the checker's and hub's state. Its methods are safe for
// concurrent use.
type Store interface {
	// BeginPass starts a pass and returns its ID; IDs increase.
	BeginPass(ctx context.Context, started time.Time) (PassID, error)
	// RecordMirror records, in one transaction, what pass found at one
	// mirror: its access results, problems and object states. Recording the
	// same mirror in the same pass again replaces the earlier record. It
	// fails with ErrNotFound for an unknown pass and with ErrOldPass if the
	// mirror already has results from a later pass.
	RecordMirror(ctx context.Context, pass PassID, r MirrorResult) error
	// FinishPass marks pass finished at the given time.
	FinishPass(ctx context.Context, pass PassID, finished time.Time) error
	// Passes returns the newest passes first, at most limit (all if limit <= 0).
	Passes(ctx context.Context, limit int) ([]Pass, error)

	// LatestResults returns, for every mirror ever recorded, its result from
	// the latest pass that has one, with its current problems (and no
	// objects), ordered by mirror name.
	LatestResults(ctx context.Context) ([]MirrorResult, error)
	// MirrorHistory returns the mirror's results checked at or after since,
	// oldest first, with access results and problem counts (no problems
	// or objects).
	MirrorHistory(ctx context.Context, mirror string, since time.Time) ([]MirrorResult, error)
	// Objects returns the object states of one mirror, by access and path.
	// Their strings are interned: the states of one object at every mirror
	// share one Path and one SHA256 string.
	Objects(ctx context.Context, mirror string) ([]ObjectState, error)
	// EachObject calls fn with each object state of one mirror, in the
	// order and interned as Objects returns them, without holding them
	// all: a hub compiling its map reads millions. It stops at the first
	// error, fn's or its own, and returns it.
	EachObject(ctx context.Context, mirror string, fn func(ObjectState) error) error
	// ObjectMirrors returns the states of one object at every mirror, by
	// mirror and access, interned as Objects's are.
	ObjectMirrors(ctx context.Context, path string) ([]ObjectState, error)

	// GetMeta returns the value stored under key, or ErrNotFound.
	GetMeta(ctx context.Context, key string) ([]byte, error)
	// PutMeta stores value under key, replacing any earlier value.
	PutMeta(ctx context.Context, key string, value []byte) error

	// AddStats adds a batch of download counts (see StatBatch) in one
	// transaction: all of it or, on error, nothing. A batch with the same
	// source, reporter and ID as one added before adds nothing and returns
	// duplicate true.
	AddStats(ctx context.Context, b StatBatch) (duplicate bool, err error)
	// QueryStats returns the counts kept for the query's days (and path),
	// with the days each mirror reported in that range.
	QueryStats(ctx context.Context, q StatsQuery) (StatsResult, error)

	// Lease takes or renews the lease called name for holder until the
	// time until, and returns the lease's holder afterwards: holder itself,
	// or another holder whose lease has not expired at now. Hubs sharing a
	// store take the "checker" lease so that one of them checks.
	Lease(ctx context.Context, name, holder string, now, until time.Time) (string, error)

	// Prune forgets what is older than before and no longer needed: the
	// passes that started before it, with their results, unless a pass
	// holds some mirror's latest result; problems last seen before it that
	// are no mirror's current ones; and the IDs of stats batches received
	// before it (a batch sent again after that is counted again). Download
	// counts and object states are never pruned.
	Prune(ctx context.Context, before time.Time) (Pruned, error)

	Close() error
}

// Pruned says what Prune removed.
type Pruned struct {
	Passes, Problems, Batches int64
}

// Errors a caller can act on.
var (
	ErrNotFound = errors.New("not found")
	ErrOldPass  = errors.New("mirror already has results from a later pass")
)

// A PassID names a pass. The first pass is 1.
type PassID int64

// A Pass is one round of the checker over the registry.
type Pass struct {
	ID       PassID
	Started  time.Time
	Finished time.Time // zero while the pass runs
}

// A MirrorResult is what one pass found at one mirror.
type MirrorResult struct {
	Pass     PassID    // set by the store when reading; RecordMirror takes its own
	Mirror   string    // the mirror's name in the registry
	Checked  time.Time // when the mirror's check ended
	Access   []AccessResult
	Problems []Problem
	Objects  []ObjectState
	// ProblemCounts is set by MirrorHistory: how many problems of each
	// kind the result had (nil when it had none). RecordMirror counts
	// Problems itself.
	ProblemCounts map[ProblemKind]int

	// AllObjects says Objects lists every object of the mirror, so states
	// of objects not in it are removed; otherwise Objects only adds to or
	// updates the states kept.
	AllObjects bool
}

// An AccessResult is what a pass found at one access point of a mirror.
type AccessResult struct {
	Access    string        // the access point's kind: "http", "https", "rsync", "ftp"
	URL       string        // the URL checked
	Reachable bool          // it answered at all
	TLSExpiry time.Time     // when its certificate expires; zero without TLS
	Records   *int64        // records of the verified checkpoint it serves; nil if none
	Lag       time.Duration // how long the state it serves has been out of date
	Complete  float64       // fraction of objects present with the right size, 0 to 1
	OK        bool          // the access point serves the current state correctly
	Detail    string        // a short human-readable note, such as an error
}

// A ProblemKind classifies a problem.
type ProblemKind string

// The kinds of problem the checker reports.
const (
	Missing      ProblemKind = "missing"       // an object is not there
	Size         ProblemKind = "size"          // an object has the wrong size
	Hash         ProblemKind = "hash"          // an object has the wrong content
	Extra        ProblemKind = "extra"         // a file the log does not name
	Stale        ProblemKind = "stale"         // the mirror serves an old checkpoint
	Rollback     ProblemKind = "rollback"      // a checkpoint older than one already seen
	Fork         ProblemKind = "fork"          // a checkpoint that contradicts the log
	BadSignature ProblemKind = "bad-signature" // a checkpoint the origin's key did not sign
	Unreachable  ProblemKind = "unreachable"   // the access point does not answer
	TLS          ProblemKind = "tls"           // a bad or soon expiring certificate
	Timeout      ProblemKind = "timeout"       // a request ran out of time
	Frozen       ProblemKind = "frozen"        // the checkpoint was signed too long ago
)

// Valid reports whether k is one of the kinds above.
func (k ProblemKind) Valid() bool {
	switch k {
	case Missing, Size, Hash, Extra, Stale, Rollback, Fork, BadSignature, Unreachable, TLS, Timeout, Frozen:
		return true
	}
	return false
}

// A Problem is a mismatch the checker saw at a mirror.
type Problem struct {
	Mirror    string      // set by the store; RecordMirror takes the result's
	Access    string      // the access point's kind; "" if it concerns the whole mirror
	Kind      ProblemKind //
	Path      string      // the object concerned; "" if none
	Expected  string      // what the signed log says, e.g. a size or hash
	Got       string      // what the mirror served
	FirstPass PassID      // set by the store: the pass that first saw it
	LastPass  PassID      // set by the store: the pass that last saw it
	FirstSeen time.Time   // set by the store from the results' Checked times
	LastSeen  time.Time   // set by the store
}

// CountProblems counts ps by kind, as a result's ProblemCounts holds them:
// nil when there are none.
func CountProblems(ps []Problem) map[ProblemKind]int {
	if len(ps) == 0 {
		return nil
	}
	counts := map[ProblemKind]int{}
	for _, p := range ps {
		counts[p.Kind]++
	}
	return counts
}

// An ObjectState is what the checker knows about one object at one mirror
// and access point.
type ObjectState struct {
	Mirror      string    // set by the store; RecordMirror takes the result's
	Access      string    // the access point's kind
	Path        string    // the object's path in the tree
	Record      int64     // index of the journal record checked against
	SHA256      string    // that record's content hash, lowercase hex
	Size        int64     // that record's size
	SizeChecked time.Time // when existence and size were last confirmed; zero: never
	HashChecked time.Time // when the content hash was last confirmed; zero: never
	OK          bool      // the mirror holds the record's version
}
