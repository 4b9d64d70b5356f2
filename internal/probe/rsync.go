package probe

// The rsync prober drives the system rsync client: one recursive listing
// (rsync --list-only) answers Stat for the whole tree, and a single-file
// transfer into a temporary directory serves Open and Get. rsync's own
// --contimeout and --timeout bound connecting and every pause, the
// caller's context bounds the whole, and the listing is parsed as it
// streams, with limits on lines, entries and bytes.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxStderr bounds the rsync error output kept for messages.
const maxStderr = 4 << 10

type rsyncProber struct {
	base string // rsync://host[:port]/module/path/, as rsync takes it
	cfg  Config
	listed
}

func newRsync(u *url.URL, cfg Config) *rsyncProber {
	p := &rsyncProber{base: "rsync://" + u.Host + u.Path, cfg: cfg}
	p.listed = listed{list: p.List, name: func(path string) string { return p.base + path }}
	return p
}

func (p *rsyncProber) Kind() string { return "rsync" }

func (p *rsyncProber) Close() error { return nil }

// Stat answers from one listing of the tree, made on the first call.
func (p *rsyncProber) Stat(ctx context.Context, paths []string, fn func(Stat)) error {
	return p.stat(ctx, paths, fn)
}

// List lists every regular file under the base with one
// "rsync --list-only -r --no-inc-recursive".
func (p *rsyncProber) List(ctx context.Context) ([]Stat, error) {
	cmdCtx, stop := context.WithCancel(ctx)
	defer stop()
	cmd := p.command(cmdCtx, "--list-only", "-r", "--no-inc-recursive", p.base)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("rsync %s: %w", p.base, err)
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("rsync %s: %w (make test installs rsync)", p.base, err)
	}
	list, perr := parseListing(stdout)
	if perr != nil {
		stop() // the listing is refused: no need for the rest
	}
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, runErr(ctx, p.base, werr, &stderr)
	case perr != nil:
		return nil, fmt.Errorf("rsync %s: %w", p.base, perr)
	case werr != nil && exitCode(werr) != 24: // 24: files vanished while listed
		return nil, runErr(ctx, p.base, werr, &stderr)
	}
	return list, nil
}

// command prepares an rsync client run with the prober's timeouts, in the C
// locale so sizes print as 1,234 and unprintable bytes escaped.
func (p *rsyncProber) command(ctx context.Context, args ...string) *exec.Cmd {
	all := []string{
		"--no-motd",
		"--timeout=" + seconds(p.cfg.IdleTimeout),
		"--contimeout=" + seconds(p.cfg.ConnectTimeout),
	}
	cmd := exec.CommandContext(ctx, "rsync", append(all, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// seconds rounds d up to whole seconds, at least 1.
func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// runErr classifies a failed rsync run for target by the context and
// rsync's exit code (see EXIT VALUES in rsync(1)).
func runErr(ctx context.Context, target string, err error, stderr *tailBuffer) error {
	msg := stderr.summary()
	if ctx.Err() != nil {
		return fmt.Errorf("rsync %s: %w: %s", target, ctxErr(ctx), msg)
	}
	var class error
	switch code := exitCode(err); code {
	case 5, 10: // protocol start (unknown module, refused by the daemon), socket I/O
		class = ErrUnreachable
	case 30, 35: // timeouts in transfer, and connecting to the daemon
		class = ErrTimeout
	case 23: // partial transfer: the file or directory is missing
		class = ErrNotFound
	default:
		class = ErrProtocol
		if strings.Contains(msg, "Connection refused") {
			class = ErrUnreachable
		}
	}
	return fmt.Errorf("rsync %s: %w: %w: %s", target, class, err, msg)
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// Open copies one object into a temporary directory and reads it from
// there; Close deletes the copy.
func (p *rsyncProber) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	return p.fetch(ctx, path, -1)
}

// Get reads an object of at most limit bytes; rsync does not even transfer
// a larger one.
func (p *rsyncProber) Get(ctx context.Context, path string, limit int64) ([]byte, error) {
	f, err := p.fetch(ctx, path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, tooBig, err := readLimited(f, limit)
	if tooBig {
		return nil, fmt.Errorf("rsync %s%s: %w: larger than %d bytes", p.base, path, ErrProtocol, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("rsync %s%s: %w", p.base, path, err)
	}
	return data, nil
}

// fetch transfers path, refusing files larger than limit unless limit < 0.
func (p *rsyncProber) fetch(ctx context.Context, path string, limit int64) (io.ReadCloser, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pando-probe-")
	if err != nil {
		return nil, fmt.Errorf("rsync %s%s: %w", p.base, path, err)
	}
	f, err := p.fetchInto(ctx, dir, path, limit)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &tempFile{File: f, dir: dir}, nil
}

func (p *rsyncProber) fetchInto(ctx context.Context, dir, path string, limit int64) (*os.File, error) {
	src := p.base + globEscape(path)
	dst := filepath.Join(dir, "object")
	args := []string{"--protect-args"}
	if limit >= 0 {
		args = append(args, "--max-size="+strconv.FormatInt(limit, 10))
	}
	cmd := p.command(ctx, append(args, src, dst)...)
	var stdout, stderr tailBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, runErr(ctx, p.base+path, err, &stderr)
	}
	f, err := os.Open(dst)
	if errors.Is(err, os.ErrNotExist) { // skipped: a directory, a link, or over limit
		if strings.Contains(stdout.summary(), "skipping") {
			return nil, fmt.Errorf("rsync %s%s: %w: not a regular file", p.base, path, ErrNotFound)
		}
		return nil, fmt.Errorf("rsync %s%s: %w: larger than %d bytes", p.base, path, ErrProtocol, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("rsync %s%s: %w", p.base, path, err)
	}
	return f, nil
}

// globEscape escapes a path for rsync, which expands wildcards in the
// source even with --protect-args when the name contains one.
func globEscape(path string) string {
	if !strings.ContainsAny(path, "*?[") {
		return path
	}
	var b strings.Builder
	for _, r := range path {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// tempFile is an object copied to a temporary directory, removed on Close.
type tempFile struct {
	*os.File
	dir string
}

func (t *tempFile) Close() error {
	err := t.File.Close()
	if rerr := os.RemoveAll(t.dir); err == nil {
		err = rerr
	}
	return err
}

// tailBuffer keeps the last maxStderr bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - maxStderr; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// summary is the output on one line.
func (t *tailBuffer) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines []string
	for l := range strings.Lines(string(t.buf)) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}
