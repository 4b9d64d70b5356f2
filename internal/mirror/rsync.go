package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
)

// rsyncDir is where an rsync upstream is copied before anything is verified
// or served. It persists between runs so the next transfer is incremental.
const rsyncDir = logdir.LocalDir + "/rsync"

// syncRsync syncs from an rsync:// upstream by driving the system rsync into
// a private copy under .pando/local, hard-linking unchanged files from the
// tree so the copy costs no space. If the copy carries a signed log it is
// verified exactly as an HTTP upstream would be and installed the same way;
// if not, the upstream is unsigned and the copy is moved in by a second,
// local rsync with --delay-updates.
func syncRsync(ctx context.Context, opts Options, raw string) (Result, error) {
	res := Result{Upstream: raw, Protocol: "rsync"}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return res, err
	}
	copyDir := filepath.Join(root, filepath.FromSlash(rsyncDir))
	if err := os.MkdirAll(copyDir, 0o755); err != nil {
		return res, err
	}
	args := []string{"-a", "--delete", "--no-inc-recursive", "--partial",
		"--exclude=/" + logdir.LocalDir + "/", "--exclude=/" + logdir.CheckpointPath,
		"--exclude=/" + logdir.JournalPath, "--link-dest=" + root}
	if opts.BWLimit > 0 {
		args = append(args, "--bwlimit="+strconv.FormatInt(max(1, opts.BWLimit/1024), 10))
	}
	// The signed head first, compared by content: rsync's size-and-mtime
	// check misses a re-publish within the same second. An unsigned
	// upstream has none (rsync exit 23, partial transfer).
	meta := []string{"-a", "--ignore-times", withSlash(raw) + logdir.CheckpointPath, withSlash(raw) + logdir.JournalPath,
		filepath.Join(copyDir, logdir.Dir) + "/"}
	if err := os.MkdirAll(filepath.Join(copyDir, logdir.Dir), 0o755); err != nil {
		return res, err
	}
	if err := runRsync(ctx, meta...); err != nil && !isExit(err, 23) {
		return res, fmt.Errorf("%s: %w", raw, err)
	}
	if err := runRsync(ctx, append(args, withSlash(raw), copyDir+"/")...); err != nil {
		return res, fmt.Errorf("%s: %w", raw, err)
	}
	copyLog, err := logdir.LoadFull(copyDir, opts.Verifier) // the upstream's tree: no local snapshot of ours
	if errors.Is(err, logdir.ErrNoLog) {
		opts.Log.Warn("rsync upstream has no signed log; copying without verification", "upstream", raw)
		return res, installUnsigned(ctx, copyDir, root)
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", raw, err)
	}
	if err := refetchChanged(ctx, opts, raw, copyDir, copyLog); err != nil {
		return res, err
	}
	src := dirSource{dir: copyDir, name: raw}
	return apply(ctx, opts, &res, copyLog.Checkpoint, copyLog.Signed, src, func(old *logdir.Log) (*logdir.Log, []journal.Record, error) {
		if !bytes.HasPrefix(copyLog.Journal, old.Journal) {
			return nil, nil, fmt.Errorf("%s: journal does not extend the local one: %w", raw, checkpoint.ErrFork)
		}
		lines := bytes.Split(bytes.TrimSuffix(copyLog.Journal[len(old.Journal):], []byte("\n")), []byte("\n"))
		if len(copyLog.Journal) == len(old.Journal) {
			lines = nil
		}
		return old.Extend(lines)
	})
}

// refetchChanged copies again, comparing contents rather than size and
// modification time, every file the records after the mirror's own name:
// rsync's quick check misses a file rewritten with the same size within the
// same second, and the log says exactly which files changed.
func refetchChanged(ctx context.Context, opts Options, raw, copyDir string, copyLog *logdir.Log) error {
	have, err := localState(opts)
	if err != nil || have.N >= copyLog.N() {
		return err
	}
	lines, err := journal.Lines(copyLog.Journal, 0, copyLog.N())
	if err != nil {
		return err
	}
	var list bytes.Buffer
	for _, line := range lines[have.N:] {
		if r, err := journal.ParseLine(line); err == nil && r.Kind == journal.File {
			list.WriteString(r.Path)
			list.WriteByte(0)
		}
	}
	if list.Len() == 0 {
		return nil
	}
	listFile := filepath.Join(copyDir, "..", "rsync-changed")
	if err := os.WriteFile(listFile, list.Bytes(), 0o644); err != nil {
		return err
	}
	defer os.Remove(listFile)
	args := []string{"-a", "--ignore-times", "--from0", "--files-from=" + listFile}
	if opts.BWLimit > 0 {
		args = append(args, "--bwlimit="+strconv.FormatInt(max(1, opts.BWLimit/1024), 10))
	}
	// Files removed again since are reported missing (exit 23) and are not needed.
	if err := runRsync(ctx, append(args, withSlash(raw), copyDir+"/")...); err != nil && !isExit(err, 23) {
		return fmt.Errorf("%s: %w", raw, err)
	}
	return nil
}

// installUnsigned moves an unverifiable copy into the tree with rsync's
// --delay-updates, which renames every changed file into place at the end.
func installUnsigned(ctx context.Context, copyDir, root string) error {
	return runRsync(ctx, "-a", "--delete", "--delay-updates", "--exclude=/"+logdir.Dir+"/", copyDir+"/", root+"/")
}

func runRsync(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "rsync", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 4096}
	if err := cmd.Run(); err != nil {
		msg := bytes.TrimSpace(stderr.Bytes())
		if len(msg) > 0 {
			return fmt.Errorf("rsync: %w: %s", err, msg)
		}
		return fmt.Errorf("rsync: %w", err)
	}
	return nil
}

func isExit(err error, code int) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == code
}

func withSlash(s string) string {
	if len(s) > 0 && s[len(s)-1] == '/' {
		return s
	}
	return s + "/"
}

// dirSource reads blobs from the rsync copy; it never needs to resume.
type dirSource struct{ dir, name string }

func (s dirSource) Open(ctx context.Context, p string, off int64) (io.ReadCloser, int64, error) {
	r, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	f, err := r.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%s: %s: not in the rsync copy", s.name, p)
	}
	return f, 0, err
}

func (s dirSource) Name() string { return s.name }

type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
