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

const mirrorHelp = `Usage: pando mirror sync [flags]

Subcommands:
  sync   one locked sync run of a mirror tree (for cron or a timer)

Run "pando mirror sync --help" for its flags.`

func runMirror(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("need a subcommand: sync")
	}
	switch args[0] {
	case "sync":
		return runMirrorSync(ctx, e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(e.stderr, mirrorHelp)
		return nil
	}
	return usagef("unknown subcommand %q; want sync", args[0])
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
	var ups stringList
	fs.Var(&ups, "upstream", "upstream tree URL; repeat to give fall-backs (required)")
	root := fs.String("root", "", "the mirror tree (required)")
	pubkey := fs.String("pubkey", "", "the origin's public key: a file or the key text (required)")
	jobs := fs.Int("jobs", 64, "files fetched at once (HTTP/2 streams share one connection; HTTP/1.1 uses up to 8 connections)")
	bw := fs.String("bwlimit", "", "bandwidth cap shared by all transfers: bytes/s (8M, 512k) or bits/s (70Mbit)")
	delay := fs.Duration("delete-delay", 0, "keep files removed upstream this long before deleting them")
	wait := fs.Bool("wait", false, "wait for a running sync of the same tree instead of exiting")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	if len(ups) == 0 || *root == "" || *pubkey == "" {
		return usagef("need --upstream, --root and --pubkey")
	}
	if *jobs < 1 || *jobs > 1024 {
		return usagef("--jobs %d: want 1 to 1024", *jobs)
	}
	rate, err := mirror.ParseRate(*bw)
	if err != nil {
		return usageError{err.Error()}
	}
	v, err := checkpoint.LoadVerifier(*pubkey)
	if err != nil {
		return usageError{err.Error()}
	}
	m := e.meter("syncing", *quiet)
	res, err := mirror.Sync(ctx, mirror.Options{
		Root: *root, Upstreams: ups, Verifier: v, Jobs: *jobs, BWLimit: rate,
		DeleteDelay: *delay, Wait: *wait, Meter: m, Log: e.logger(),
	})
	m.Close()
	if err != nil {
		return err
	}
	return printSync(e.stdout, res, *asJSON)
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
