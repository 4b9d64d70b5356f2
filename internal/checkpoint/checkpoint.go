// Package checkpoint owns the signed head of pando's log: the text that names
// an origin, how many journal records it has published and the Merkle root
// over them, signed as a note (golang.org/x/mod/sumdb/note, Ed25519).
//
// # Format (pando checkpoint v1)
//
// The note's text is five lines:
//
//	pando checkpoint v1
//	<origin>
//	<records>
//	<root>
//	<time>
//
// origin is the name of the origin's signing key (a host name, say);
// records the number of journal records (package journal) the tree covers,
// in canonical decimal; root the tlog tree hash over those records in
// standard base64; time the Unix second at which the origin signed. The first
// line names the version of both this text and the journal format. The
// origin re-signs with a fresh time on every publish, so a checkpoint's age
// says how long ago its origin was last seen alive.
//
// For example, the checkpoint over the three records of package journal's
// example, followed by the note's signature lines:
//
//	pando checkpoint v1
//	repo.example.org
//	3
//	TRqnAOkpYzoKXO+VphVgybvKiW517c6Anfuz+6Y3FPA=
//	1700000600
//
// Parse accepts exactly the text Format writes.
package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Header is the first line of every checkpoint of this format version.
const Header = "pando checkpoint v1"

// Limits on what Parse and Open accept.
const (
	MaxNoteSize  = 16 << 10 // bytes in a signed checkpoint
	maxOriginLen = 255
)

// A Checkpoint is the signed state of an origin's log.
type Checkpoint struct {
	Origin string    // the signing key's name
	N      int64     // records in the journal
	Hash   tlog.Hash // tlog tree hash over those records
	Time   time.Time // when the origin signed, in whole seconds
}

// Format returns the checkpoint's text, the body of its note.
func (c Checkpoint) Format() []byte {
	return fmt.Appendf(nil, "%s\n%s\n%d\n%s\n%d\n", Header, c.Origin, c.N, c.Hash, c.Time.Unix())
}

// Parse parses a checkpoint's text. It accepts only the canonical encoding.
func Parse(text []byte) (Checkpoint, error) {
	var c Checkpoint
	if len(text) > MaxNoteSize {
		return c, fmt.Errorf("checkpoint text of %d bytes exceeds %d", len(text), MaxNoteSize)
	}
	lines := strings.SplitAfter(string(text), "\n")
	if len(lines) != 6 || lines[5] != "" {
		return c, errors.New("checkpoint text does not have 5 lines")
	}
	for i := range lines[:5] {
		lines[i] = strings.TrimSuffix(lines[i], "\n")
	}
	if lines[0] != Header {
		return c, fmt.Errorf("checkpoint header %q is not %q", trunc(lines[0]), Header)
	}
	c.Origin = lines[1]
	if c.Origin == "" || len(c.Origin) > maxOriginLen || strings.ContainsAny(c.Origin, " +\t") {
		return c, fmt.Errorf("checkpoint origin %q is not a key name", trunc(c.Origin))
	}
	n, err := strconv.ParseInt(lines[2], 10, 64)
	if err != nil || n < 0 {
		return c, fmt.Errorf("checkpoint record count %q is not a number", trunc(lines[2]))
	}
	c.N = n
	if c.Hash, err = tlog.ParseHash(lines[3]); err != nil {
		return c, fmt.Errorf("checkpoint root %q is not a hash", trunc(lines[3]))
	}
	t, err := strconv.ParseInt(lines[4], 10, 64)
	if err != nil || t < 0 {
		return c, fmt.Errorf("checkpoint time %q is not a number", trunc(lines[4]))
	}
	c.Time = time.Unix(t, 0).UTC()
	if !bytes.Equal(c.Format(), text) {
		return c, errors.New("checkpoint text is not in canonical form")
	}
	return c, nil
}

// Sign returns c as a note signed by signer, whose name must be c.Origin.
func Sign(c Checkpoint, signer note.Signer) ([]byte, error) {
	if signer.Name() != c.Origin {
		return nil, fmt.Errorf("signing key is for %q, checkpoint names origin %q", signer.Name(), c.Origin)
	}
	return note.Sign(&note.Note{Text: string(c.Format())}, signer)
}

// Open verifies a signed checkpoint with verifier and parses it. Signature
// errors are note's own (*note.UnverifiedNoteError, *note.InvalidSignatureError
// and its unexported "malformed note" error), unchanged, so callers can tell a
// checkpoint signed by another key from a damaged one.
func Open(msg []byte, verifier note.Verifier) (Checkpoint, error) {
	if len(msg) > MaxNoteSize {
		return Checkpoint{}, fmt.Errorf("checkpoint of %d bytes exceeds %d", len(msg), MaxNoteSize)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return Checkpoint{}, err
	}
	c, err := Parse([]byte(n.Text))
	if err != nil {
		return c, err
	}
	if c.Origin != verifier.Name() {
		return c, fmt.Errorf("checkpoint names origin %q but is signed by %q", c.Origin, verifier.Name())
	}
	return c, nil
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
