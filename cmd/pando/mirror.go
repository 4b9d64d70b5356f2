package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/mirror"
	"github.com/pando-mirror/pando/internal/progress"
)

const mirrorHelp = `Usage: pando mirror sync|run [flags]

Subcommands:
  sync   one locked sync run of a mirror tree (for cron or a timer)
  run    the mirror agent: scheduled syncs, serving, download reports and
         metrics in one long-running process

Run "pando mirror sync --help" or "pando mirror run --help" for their flags.`

func runMirror(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("need a subcommand: sync or run")
	}
	switch args[0] {
	case "sync":
		return runMirrorSync(ctx, e, args[1:])
	case "run":
		return runMirrorRun(ctx, e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(e.stderr, mirrorHelp)
		return nil
	}
	return usagef("unknown subcommand %q; want sync or run", args[0])
}

const mirrorSyncHelp = `Usage: pando mirror sync --upstream URL [--upstream URL2 ...] --root DIR --pubkey KEY [flags]

Brings the mirror tree at DIR to the newest state its upstream has signed.
The upstream is the origin or any other mirror (http://, https://, or
rsync:// for an origin that only offers rsync); several are tried in order.
--pubkey is the origin's public key, as a file or as the key text itself:
nothing is trusted that this key did not sign.

Only the journal records after the mirror's own are fetched, then only the
files they name; files the mirror already holds with the same hash are
reused. Every file is checked for size and SHA-256 before it is moved into
place, and the new checkpoint is written only after every file is there, so
the mirror never serves metadata naming a file it lacks. Removed files are
deleted last (after --delete-delay). A killed run leaves the previous state
served and the next run finishes the work.

A checkpoint with fewer records than the mirror holds (rollback), a different
root for the same records (fork), a signature by another key, a journal that
does not reproduce the signed root, or a file with the wrong bytes stops the
sync with exit status 1 and an error naming the upstream and path; the mirror
keeps serving its previous state. A second sync on the same tree exits at
once with status 1, or queues with --wait.`

func runMirrorSync(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "mirror sync", mirrorSyncHelp)
	var sf syncFlags
	sf.register(fs)
	wait := fs.Bool("wait", false, "wait for a running sync of the same tree instead of exiting")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	opts, err := sf.options()
	if err != nil {
		return err
	}
	m := e.meter("syncing", *quiet)
	opts.Wait, opts.Meter, opts.Log = *wait, m, e.logger()
	res, err := mirror.Sync(ctx, opts)
	m.Close()
	if err != nil {
		return err
	}
	return printSync(e.stdout, res, *asJSON)
}

// syncFlags are the flags of a sync run, shared by "mirror sync" and
// "mirror run".
type syncFlags struct {
	ups          stringList
	root, pubkey string
	jobs         int
	bw           string
	delay        time.Duration
}

func (f *syncFlags) register(fs *cmdFlags) {
	fs.Var(&f.ups, "upstream", "upstream tree URL; repeat to give fall-backs (required)")
	fs.StringVar(&f.root, "root", "", "the mirror tree (required)")
	fs.StringVar(&f.pubkey, "pubkey", "", "the origin's public key: a file or the key text (required)")
	fs.IntVar(&f.jobs, "jobs", 256, "files fetched at once, over up to 8 pipelined HTTP/1.1 connections")
	fs.StringVar(&f.bw, "bwlimit", "", "bandwidth cap shared by all transfers: bytes/s (8M, 512k) or bits/s (70Mbit)")
	fs.DurationVar(&f.delay, "delete-delay", 0, "keep files removed upstream this long before deleting them")
}

// options checks the flags and turns them into a sync's options.
func (f *syncFlags) options() (mirror.Options, error) {
	if len(f.ups) == 0 || f.root == "" || f.pubkey == "" {
		return mirror.Options{}, usagef("need --upstream, --root and --pubkey")
	}
	if f.jobs < 1 || f.jobs > 1024 {
		return mirror.Options{}, usagef("--jobs %d: want 1 to 1024", f.jobs)
	}
	if f.delay < 0 {
		return mirror.Options{}, usagef("--delete-delay %v: want a positive duration", f.delay)
	}
	rate, err := mirror.ParseRate(f.bw)
	if err != nil {
		return mirror.Options{}, usageError{err.Error()}
	}
	v, err := checkpoint.LoadVerifier(f.pubkey)
	if err != nil {
		return mirror.Options{}, usageError{err.Error()}
	}
	return mirror.Options{Root: f.root, Upstreams: f.ups, Verifier: v, Jobs: f.jobs, BWLimit: rate, DeleteDelay: f.delay}, nil
}

func printSync(w io.Writer, r mirror.Result, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	if r.UpToDate {
		_, err := fmt.Fprintf(w, "up to date at %d records (%s)\n", r.RecordsAfter, r.Upstream)
		return err
	}
	_, err := fmt.Fprintf(w, "synced %d -> %d records from %s: %d files installed (%d fetched, %d reused, %s), %d removed in %s\n",
		r.RecordsBefore, r.RecordsAfter, r.Upstream, r.Installed, r.Fetched, r.Reused, progress.Bytes(r.Bytes),
		r.Removed, time.Duration(r.Seconds*float64(time.Second)).Round(time.Millisecond))
	return err
}
