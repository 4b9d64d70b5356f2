package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/mirror"
	"github.com/pando-mirror/pando/internal/progress"
)

const restoreHelp = `Usage: pando restore --root DIR [--config hub.toml] [--from URL ...] [--pubkey KEY] [flags]

Rebuilds a lost origin at DIR from its mirrors, bit for bit: the files with
their modification times, and .pando/ (journal, tiles and the newest signed
checkpoint any mirror holds). Then "pando verify --root DIR" passes and the
origin can publish again on top of the restored log; mirrors carry on from
where they are, with no re-sync and no rollback alarm.

The mirrors are every http or https access point of the registry in
--config, and any URL given with --from (repeatable; --config is then
optional). --pubkey is the origin's public key (a file or the key text); it
defaults to origin.pubkey of --config. Nothing is trusted that this key did
not sign.

Every mirror is asked for its checkpoint. One that does not verify is
reported (bad-signature) and not used. The journal of the newest checkpoint
is fetched from a mirror that holds it all and must reproduce the signed
root; a mirror whose checkpoint is not a prefix of that log is reported as a
fork and not used. Each live object is then fetched from the mirrors that
should hold it (stale ones too, for what they have), spreading the load:
size and SHA-256 are checked, and a mirror that serves the wrong bytes or
none is skipped for the next one. Verified objects are kept in
DIR/.pando/local/staging, so a run killed midway and run again downloads
nothing twice.

The checkpoint is written last, and only when every live object is in
place. Objects that no mirror serves with the right bytes are listed (path,
record, publication time, what each mirror did) and the command exits 1
with the verified objects installed and no checkpoint; run it again when the
bytes can be had. DIR must be empty, missing, or a pando tree (an earlier
restore's). --json prints the report as JSON on stdout.

Exit status: 0 restored, 1 incomplete or failed, 2 bad usage.`

func runRestore(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "restore", restoreHelp)
	cfgFile := fs.String("config", "", "the hub configuration whose mirror registry to restore from")
	var from stringList
	fs.Var(&from, "from", "another mirror's tree URL to restore from; repeatable")
	root := fs.String("root", "", "the directory to restore the origin into (required)")
	pubkey := fs.String("pubkey", "", "the origin's public key: a file or the key text (default: origin.pubkey of --config)")
	jobs := fs.Int("jobs", 64, "objects fetched at once")
	bw := fs.String("bwlimit", "", "bandwidth cap shared by all transfers: bytes/s (8M, 512k) or bits/s (70Mbit)")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	if *root == "" || (*cfgFile == "" && len(from) == 0) {
		return usagef("need --root and at least one of --config and --from")
	}
	if *jobs < 1 || *jobs > 1024 {
		return usagef("--jobs %d: want 1 to 1024", *jobs)
	}
	rate, err := mirror.ParseRate(*bw)
	if err != nil {
		return usageError{err.Error()}
	}
	sources, v, err := restoreSources(*cfgFile, from, *pubkey)
	if err != nil {
		return err
	}
	m := e.meter("restoring", *quiet)
	rep, err := mirror.Restore(ctx, mirror.RestoreOptions{
		Root: *root, Sources: sources, Verifier: v, Jobs: *jobs, BWLimit: rate, Meter: m, Log: e.logger(),
	})
	m.Close()
	if perr := printRestore(e.stdout, rep, *asJSON); perr != nil && err == nil {
		err = perr
	}
	return err
}

// restoreSources returns the mirrors to restore from, the registry's first
// and then --from, each URL once, and the origin's verifier.
func restoreSources(cfgFile string, from []string, pubkey string) ([]mirror.Source, note.Verifier, error) {
	var sources []mirror.Source
	var v note.Verifier
	seen := make(map[string]bool)
	if cfgFile != "" {
		cfg, err := config.Load(cfgFile)
		if err != nil {
			return nil, nil, err
		}
		v = cfg.Origin.Verifier
		for _, m := range cfg.Mirrors {
			s := mirror.Source{Name: m.Name}
			for _, a := range m.Access() {
				if (a.Kind == config.AccessHTTP || a.Kind == config.AccessHTTPS) && !seen[a.URL] {
					s.URLs = append(s.URLs, a.URL)
					seen[a.URL] = true
				}
			}
			sources = append(sources, s)
		}
	}
	for _, u := range from {
		if !seen[u] {
			sources = append(sources, mirror.Source{Name: u, URLs: []string{u}})
			seen[u] = true
		}
	}
	if pubkey != "" {
		var err error
		if v, err = checkpoint.LoadVerifier(pubkey); err != nil {
			return nil, nil, usageError{err.Error()}
		}
	}
	if v == nil {
		return nil, nil, usagef("need --pubkey (or --config with origin.pubkey)")
	}
	return sources, v, nil
}

func printRestore(w io.Writer, r *mirror.RestoreReport, asJSON bool) error {
	if r == nil {
		return nil
	}
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	printRestoreDetails(w, r)
	secs := time.Duration(r.Seconds * float64(time.Second)).Round(time.Millisecond)
	var err error
	switch {
	case r.UpToDate:
		_, err = fmt.Fprintf(w, "up to date at %d records\n", r.Records)
	case r.Complete:
		_, err = fmt.Fprintf(w, "restored %d records (checkpoint from %s, signed %s): %d paths, %d files fetched (%s), %d reused in %s\n",
			r.Records, r.CheckpointFrom, r.CheckpointTime.Format(time.RFC3339), r.Restored, r.Fetched,
			progress.Bytes(r.Bytes), r.Reused+r.Staged, secs)
	case len(r.Missing) > 0:
		_, err = fmt.Fprintf(w, "incomplete: %d of %d paths restored, %d missing; no checkpoint written (%s)\n",
			r.Restored, r.Restored+len(r.Missing), len(r.Missing), secs)
	}
	return err
}

// printRestoreDetails prints a line per mirror and per missing object, each
// followed by its errors.
func printRestoreDetails(w io.Writer, r *mirror.RestoreReport) {
	for _, m := range r.Mirrors {
		recs := "no verified checkpoint"
		if m.Records != nil {
			recs = fmt.Sprintf("%d records", *m.Records)
		}
		at := ""
		if m.URL != m.Name {
			at = " (" + m.URL + ")"
		}
		fmt.Fprintf(w, "%-13s %s%s: %s, %d objects served, %d failed\n", m.State, m.Name, at, recs, m.Served, m.Failed)
		if m.Error != "" {
			fmt.Fprintf(w, "    %s\n", m.Error)
		}
	}
	for _, o := range r.Missing {
		fmt.Fprintf(w, "missing %s (record %d, published %s, %s)\n", o.Path, o.Record,
			o.Published.Format(time.RFC3339), progress.Bytes(o.Size))
		for _, f := range o.Tried {
			fmt.Fprintf(w, "    %s: %s\n", f.Mirror, f.Error)
		}
	}
}
