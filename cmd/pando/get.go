package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/get"
	"github.com/pando-mirror/pando/internal/progress"
)

const getHelp = `Usage: pando get URL --pubkey KEY [-o FILE] [--mirror URL ...] [--force] [--state DIR] [--json] [--quiet]

Downloads one file through the mirror network and verifies it against the
origin's signed log. URL is the file at a hub (https://hub/some/path), at a
mirror or at the origin.

The mirrors come from the hub's mirror list for the file (URL?mirrorlist=json),
else from the hub's /mirrors.json in weighted random order, then from each
--mirror (a tree URL, tried in the order given), and last from the URL itself.
Nothing the hub says is trusted: the file's size and SHA-256 come only from
its latest record in the signed log, proved against a checkpoint signed by
KEY with a few tile fetches and the journal's tail (see docs/GET.md).

The bytes go to FILE.part, which a later run resumes; a mirror that fails or
serves other bytes is logged and the next one tried. FILE appears, renamed
atomically after an fsync, only once its size and SHA-256 match the record.
FILE defaults to the path's last name in the current directory; a FILE
holding other bytes is refused unless --force.

The newest checkpoint verified for each origin key is kept under --state
(default $XDG_STATE_HOME/pando/get, else ~/.local/state/pando/get). A tree
whose signed log is older than it (a rollback) or does not extend it (a
fork) is refused and the next one tried, so that a mirror a publish behind
is not used to prove the file (its bytes still are, if they match). Without
a usable home the default is given up with a warning.

Exit status 0 when FILE holds the verified bytes; 1 when the file was removed
from the log, is not in it, no tree proved its record or no mirror served
it (no FILE is then written); 2 on bad usage.`

func runGet(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "get", getHelp)
	pubkey := fs.String("pubkey", "", "the origin's public key: a file or the key text (required)")
	out := fs.String("o", "", "the file to write (default: the path's last name, here)")
	var mirrors stringList
	fs.Var(&mirrors, "mirror", "a mirror's tree URL to try after the hub's (repeatable)")
	treePath := fs.String("path", "", "the file's path in the tree, when the URL does not tell it")
	force := fs.Bool("force", false, "replace FILE if it holds other bytes")
	maxAge := fs.Duration("max-age", 0, "refuse a checkpoint signed longer ago than this (0: any age)")
	state := fs.String("state", defaultGetState(), "keep the newest checkpoint of each origin key here, and refuse older or forked ones (\"\": keep none)")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	quiet := fs.Bool("quiet", false, "no progress output")
	rawURL, err := parseWithURL(fs, args)
	if err != nil {
		return err
	}
	if *pubkey == "" {
		return usagef("need --pubkey")
	}
	if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("URL %q: want http(s)://host/path", rawURL)
	}
	v, err := checkpoint.LoadVerifier(*pubkey)
	if err != nil {
		return usageError{err.Error()}
	}
	output, err := outputName(*out, rawURL, *treePath)
	if err != nil {
		return err
	}
	stateDir, err := usableState(e, fs, *state)
	if err != nil {
		return err
	}
	m := e.meter("downloading", *quiet)
	res, err := get.Fetch(ctx, get.Options{
		URL: rawURL, Path: *treePath, Verifier: v, Mirrors: mirrors, Output: output,
		Force: *force, MaxAge: *maxAge, State: stateDir, Meter: m, Log: e.logger(),
	})
	m.Close()
	if *asJSON {
		if jerr := printGetJSON(e.stdout, res, err); jerr != nil && err == nil {
			err = jerr
		}
	} else if err == nil {
		printGet(e.stdout, res)
	}
	if errors.Is(err, get.ErrExists) {
		return fmt.Errorf("%w (--force replaces it)", err)
	}
	if _, ok := errors.AsType[*get.StateError](err); ok {
		return fmt.Errorf("%w (a damaged file may be removed; --state DIR keeps the state elsewhere)", err)
	}
	return err
}

// defaultGetState is where pando get keeps checkpoints unless told:
// $XDG_STATE_HOME/pando/get, else ~/.local/state/pando/get, else nowhere.
func defaultGetState() string {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "pando", "get")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "pando", "get")
	}
	return ""
}

// usableState returns the state directory to use: dir, made if missing and
// checked to take files. A --state given that cannot be used is an error;
// the default one is given up, with a warning, so that a user without a
// writable home can still download (without rollback protection across
// runs).
func usableState(e *env, fs *cmdFlags, dir string) (string, error) {
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "state" })
	if dir == "" {
		if !explicit {
			e.logger().Warn("no home directory to keep checkpoints in: older signed states are not refused (--state DIR)")
		}
		return "", nil
	}
	err := writableDir(dir)
	switch {
	case err == nil:
		return dir, nil
	case explicit:
		return "", fmt.Errorf("--state %s: %w", dir, err)
	}
	e.logger().Warn("cannot keep checkpoints: older signed states are not refused (--state DIR)", "dir", dir, "err", err)
	return "", nil
}

// writableDir makes dir if it is missing and checks that a file can be
// made in it.
func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// parseWithURL parses flags placed before or after the one URL argument.
func parseWithURL(fs *cmdFlags, args []string) (string, error) {
	var pos []string
	rest := args
	for range len(args) + 1 {
		if err := fs.parse(rest, len(rest)); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	switch len(pos) {
	case 0:
		return "", usagef("need the URL of the file")
	case 1:
		return pos[0], nil
	}
	return "", usagef("unexpected argument %q", pos[1])
}

// outputName returns the file to write: out, or out/NAME if out is a
// directory, where NAME is the last name of the tree path (or the URL's).
func outputName(out, rawURL, treePath string) (string, error) {
	p := treePath
	if p == "" {
		u, err := url.Parse(rawURL)
		if err != nil {
			return "", usagef("URL %q: %v", rawURL, err)
		}
		p = u.Path
	}
	name := path.Base(p)
	if name == "/" || name == "." || name == ".." || name == "" {
		if out == "" {
			return "", usagef("cannot name the output after %q; give -o FILE", rawURL)
		}
		name = ""
	}
	if out == "" {
		return name, nil
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		if name == "" {
			return "", usagef("-o %s is a directory and %q has no file name", out, rawURL)
		}
		return filepath.Join(out, name), nil
	}
	return out, nil
}

func printGet(w io.Writer, r get.Result) {
	what := r.Path
	if r.Target != r.Path {
		what = r.Path + " -> " + r.Target
	}
	from := "from " + r.MirrorUsed
	if r.MirrorUsed == "" {
		from = "already there"
	}
	fmt.Fprintf(w, "%s: %s (%s, sha256 %x), %s; record %d of %d signed by %s\n",
		r.Output, what, progress.Bytes(r.Size), r.SHA256, from, r.Record, r.Checkpoint.N, r.Checkpoint.Origin)
}

type getJSON struct {
	Path         string      `json:"path"`
	Target       string      `json:"target,omitempty"`
	Size         *int64      `json:"size,omitempty"`
	SHA256       string      `json:"sha256,omitempty"`
	Record       *int64      `json:"record,omitempty"`
	Records      int64       `json:"records,omitempty"`
	Origin       string      `json:"origin,omitempty"`
	Tree         string      `json:"tree,omitempty"`
	Output       string      `json:"output"`
	MirrorUsed   string      `json:"mirror_used"`
	Tried        []triedJSON `json:"tried"`
	JournalBytes int64       `json:"journal_bytes"`
	Tiles        int         `json:"tiles"`
	Seconds      float64     `json:"seconds"`
	State        string      `json:"state,omitempty"`
	Error        string      `json:"error,omitempty"`
}

type triedJSON struct {
	URL   string `json:"url"`
	Step  string `json:"step"`
	Error string `json:"error,omitempty"`
}

func printGetJSON(w io.Writer, r get.Result, err error) error {
	j := getJSON{
		Path: r.Path, Output: r.Output, MirrorUsed: r.MirrorUsed, Tried: []triedJSON{},
		JournalBytes: r.Cost.JournalBytes, Tiles: r.Cost.Tiles, Seconds: r.Duration.Seconds(), State: r.State,
	}
	if r.Target != "" { // the record was proved
		j.Target, j.Size, j.SHA256 = r.Target, &r.Size, hex.EncodeToString(r.SHA256[:])
	}
	if r.Tree != "" {
		j.Record, j.Records, j.Origin, j.Tree = &r.Record, r.Checkpoint.N, r.Checkpoint.Origin, r.Tree
	}
	for _, a := range r.Tried {
		t := triedJSON{URL: a.URL, Step: a.Step}
		if a.Err != nil {
			t.Error = a.Err.Error()
		}
		j.Tried = append(j.Tried, t)
	}
	if err != nil {
		j.Error = err.Error()
	}
	return json.NewEncoder(w).Encode(j)
}
