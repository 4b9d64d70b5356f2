package get

import (
	"errors"
	"fmt"
	"strings"
)

// Errors for what the signed log says about a path. Both are facts signed by
// the origin, so Fetch stops at once instead of trying other trees.
var (
	ErrRemoved  = errors.New("removed")
	ErrNotFound = errors.New("not in the signed log")
)

// ErrExists means the output file exists with other contents and
// Options.Force was not set.
var ErrExists = errors.New("exists with other contents")

// An Attempt is one thing Fetch tried and how it went.
type Attempt struct {
	URL  string // a tree URL (Step "verify") or a file URL (Step "download")
	Step string // "verify" or "download"
	Err  error  // nil if it worked
}

// A NoProofError means no tree could prove the path's record: every
// checkpoint, journal or tile fetch failed or was refused.
type NoProofError struct {
	Path  string
	Tried []Attempt
}

func (e *NoProofError) Error() string {
	if len(e.Tried) == 0 {
		return fmt.Sprintf("%s: no tree to verify against", e.Path)
	}
	return fmt.Sprintf("%s: no tree proved its record in the signed log: %s", e.Path, joinAttempts(e.Tried))
}

// A NoMirrorError means no mirror served the bytes the signed log names.
// Tried lists what each did, in order.
type NoMirrorError struct {
	Path   string
	Size   int64
	SHA256 string // hex
	Tried  []Attempt
}

func (e *NoMirrorError) Error() string {
	if len(e.Tried) == 0 {
		return fmt.Sprintf("%s: no mirror to download from", e.Path)
	}
	return fmt.Sprintf("%s: no mirror served the signed bytes (%d bytes, sha256 %s): %s",
		e.Path, e.Size, e.SHA256, joinAttempts(e.Tried))
}

func joinAttempts(as []Attempt) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		if a.Err != nil {
			parts = append(parts, a.Err.Error())
		}
	}
	return strings.Join(parts, "; ")
}

// A HashMismatchError means a mirror served bytes whose SHA-256 is not the
// one the signed log names.
type HashMismatchError struct {
	URL       string
	Want, Got string // hex
}

func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("%s: served bytes with sha256 %s, the signed log says %s", e.URL, e.Got, e.Want)
}

// A SizeMismatchError means a mirror served more or fewer bytes than the
// signed log names. Got is a lower bound when the mirror sent too many.
type SizeMismatchError struct {
	URL       string
	Want, Got int64
}

func (e *SizeMismatchError) Error() string {
	if e.Got > e.Want {
		return fmt.Sprintf("%s: served more than the %d bytes the signed log says", e.URL, e.Want)
	}
	return fmt.Sprintf("%s: served %d bytes, the signed log says %d", e.URL, e.Got, e.Want)
}
