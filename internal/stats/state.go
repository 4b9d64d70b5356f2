package stats

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"github.com/pando-mirror/pando/internal/safefile"
)

// A State says where ingesting a log stopped: which file (device and inode
// numbers, and a hash of its first bytes, which also recognise a copy made
// by logrotate's copytruncate) and the offset of the first byte not yet
// reported. Pending is a batch being sent: it is written before the batch
// is sent and cleared once the hub acknowledged it, so that a run that died
// in between sends the same bytes again under the same batch ID, which the
// hub counts once.
type State struct {
	Version    int      `json:"version"`
	Dev        uint64   `json:"dev"`
	Inode      uint64   `json:"inode"`
	HeadLen    int64    `json:"head_len"`    // bytes hashed, up to headMax
	HeadSHA256 string   `json:"head_sha256"` // of the file's first HeadLen bytes
	Offset     int64    `json:"offset"`
	Pending    *Pending `json:"pending,omitempty"`
}

// A Pending batch covers the bytes Start to End of the file.
type Pending struct {
	Start   int64  `json:"start"`
	End     int64  `json:"end"`
	BatchID string `json:"batch_id"`
}

const (
	stateVersion = 1
	headMax      = 1024     // bytes of a log file's start that identify it
	maxStateLen  = 64 << 10 // bytes in a state file
)

// loadState reads the state file name; found is false if there is none.
func loadState(name string) (st State, found bool, err error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("state file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateLen+1))
	if err != nil {
		return State{}, false, fmt.Errorf("state file: %w", err)
	}
	if err := parseState(data, &st); err != nil {
		return State{}, false, fmt.Errorf("state file %s: %w (remove it to read the log from its start again)", name, err)
	}
	return st, true, nil
}

func parseState(data []byte, st *State) error {
	if len(data) > maxStateLen {
		return fmt.Errorf("longer than %d bytes", maxStateLen)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(st); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the state")
	}
	switch {
	case st.Version != stateVersion:
		return fmt.Errorf("version %d, want %d", st.Version, stateVersion)
	case st.Offset < 0 || st.HeadLen < 0 || st.HeadLen > headMax:
		return errors.New("offset or head_len out of range")
	case st.HeadLen > 0 && !validSHA256(st.HeadSHA256):
		return errors.New("head_sha256: want 64 lowercase hex digits")
	case st.Pending != nil && (st.Pending.Start != st.Offset || st.Pending.End <= st.Pending.Start || !validBatchID(st.Pending.BatchID)):
		return errors.New("pending batch does not start at the offset or is empty")
	}
	return nil
}

func validSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size && hex.EncodeToString(b) == s
}

// saveState replaces the state file crash-safely.
func saveState(name string, st State) error {
	st.Version = stateVersion
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := safefile.WriteFile(name, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return nil
}

// A logFile is an open log file and what identifies it.
type logFile struct {
	name     string
	f        *os.File
	dev, ino uint64
	size     int64 // when opened: nothing past it is read
	headLen  int64
	head     string // hex SHA-256 of the first headLen bytes
}

func openLog(name string) (*logFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: not a regular file", name)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	l := &logFile{name: name, f: f, size: fi.Size()}
	l.dev, l.ino = fileID(fi)
	l.headLen = min(l.size, headMax)
	if l.head, err = l.headHash(l.headLen); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

func (l *logFile) close() { l.f.Close() }

// headHash returns the hex SHA-256 of the file's first n bytes.
func (l *logFile) headHash(n int64) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(l.f, 0, n)); err != nil {
		return "", fmt.Errorf("%s: %w", l.name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fresh returns the state of having read nothing of l.
func (l *logFile) fresh() State {
	return State{Version: stateVersion, Dev: l.dev, Inode: l.ino, HeadLen: l.headLen, HeadSHA256: l.head}
}

// identify makes st name l, keeping its offset and pending batch.
func (l *logFile) identify(st *State) {
	st.Dev, st.Inode, st.HeadLen, st.HeadSHA256 = l.dev, l.ino, l.headLen, l.head
}

// continues reports whether l is the file st was reading (or a copy of it)
// and still holds every byte st has reached: it is at least that long and
// starts with the same bytes. When st hashed no bytes (the file was empty),
// l must be the same file; where files have no inode numbers, only the
// current log (not a rotated one) is taken for it.
func (l *logFile) continues(st *State, current bool) (bool, error) {
	need := st.Offset
	if st.Pending != nil {
		need = st.Pending.End
	}
	if l.size < need || l.size < st.HeadLen {
		return false, nil
	}
	if st.HeadLen == 0 {
		if l.ino == 0 {
			return current, nil
		}
		return l.dev == st.Dev && l.ino == st.Inode, nil
	}
	h, err := l.headHash(st.HeadLen)
	if err != nil {
		return false, err
	}
	return h == st.HeadSHA256, nil
}

// maxRotations is how many rotated generations (FILE.1 to FILE.9) are
// looked at for the file read last time.
const maxRotations = 9

func rotatedName(base string, k int) string { return base + "." + strconv.Itoa(k) }

// findRotated looks for the file st was reading among the rotated
// generations of base, newest first, and returns it and its generation, or
// nil if it is in none of them.
func findRotated(base string, st *State) (*logFile, int, error) {
	for k := 1; k <= maxRotations; k++ {
		l, err := openLog(rotatedName(base, k))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		ok, err := l.continues(st, false)
		if ok && err == nil {
			return l, k, nil
		}
		l.close()
		if err != nil {
			return nil, 0, err
		}
	}
	return nil, 0, nil
}
