package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/publish"
)

const publishHelp = `Usage: pando publish --root DIR --key FILE [--wait] [--json]

Scans the tree at DIR, appends a record to its signed log (DIR/.pando) for
every file added, changed or removed since the last publish, and signs a new
checkpoint with the origin's key. It signs a fresh checkpoint even when nothing
changed, so run it on a schedule (cron, a timer) and mirrors will notice if
the origin stops. Unchanged files are recognised by their size, times and
inode and are not read again.

A path the log cannot carry (a ".." segment, a newline, NUL, a backslash or a
control character, a symlink leading outside the tree) stops the publish with
an error naming it; nothing is written. Killing a publish at any point leaves
the previous checkpoint in force. A second publisher on the same tree exits at
once unless --wait is given.`

func runPublish(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "publish", publishHelp)
	root := fs.String("root", "", "the tree to publish (required)")
	key := fs.String("key", "", "the origin's signing key file, from pando keygen (required)")
	wait := fs.Bool("wait", false, "wait for another publisher to finish instead of exiting")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	if *root == "" || *key == "" {
		return usagef("need --root and --key")
	}
	signer, vkey, err := checkpoint.LoadSigner(*key)
	if err != nil {
		return err
	}
	verifier, err := checkpoint.LoadVerifier(vkey)
	if err != nil {
		return err
	}
	m := e.meter("hashing", *quiet)
	res, err := publish.Publish(ctx, publish.Options{
		Root: *root, Signer: signer, Verifier: verifier, Wait: *wait, Meter: m, Log: e.logger(),
	})
	m.Close()
	if err != nil {
		return err
	}
	return printPublish(e.stdout, res, *asJSON)
}

func printPublish(w io.Writer, r publish.Result, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]any{
			"records_before": r.Before, "records_after": r.After,
			"added": r.Added, "changed": r.Changed, "removed": r.Removed,
			"hashed_files": r.Hashed, "hashed_bytes": r.HashedBytes,
			"origin": r.Checkpoint.Origin, "root": r.Checkpoint.Hash.String(),
			"time": r.Checkpoint.Time.Unix(),
		})
	}
	_, err := fmt.Fprintf(w, "published %s: %d records (+%d added, %d changed, %d removed; %d files hashed)\n",
		r.Checkpoint.Origin, r.After, r.Added, r.Changed, r.Removed, r.Hashed)
	return err
}
