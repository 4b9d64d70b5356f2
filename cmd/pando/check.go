package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/pando-mirror/pando/internal/check"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/store"
	"github.com/pando-mirror/pando/internal/upstream"
)

const checkHelp = `Usage: pando check --config hub.toml [--json] [--mirror NAME ...] [--full]

Makes one checker pass: fetches the origin's signed log (only what is new
since the last pass), then checks every enabled mirror over every access
point it offers (http, https, rsync, ftp): whether it answers, its TLS
certificate, the checkpoint it serves and so its lag, that every object is
present with the right size, a budget of content hashes (new objects first,
then a rolling sample; --full hashes everything), and, over rsync and ftp,
files the log does not name. Results are recorded in the store named in
hub.toml, so the next pass and the hub can use them.

Exit status: 0 when every enabled mirror is healthy and the origin is not
frozen, 1 when any problem was found, 2 on bad usage or a bad config.`

var errUnhealthy = errors.New("problems found")

func runCheck(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "check", checkHelp)
	cfgName := fs.String("config", "hub.toml", "the hub configuration")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	full := fs.Bool("full", false, "hash every object, not just the budget")
	var only stringList
	fs.Var(&only, "mirror", "check only this mirror (repeatable); disabled mirrors may be named")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgName)
	if err != nil {
		return usageError{err.Error()}
	}
	mirrors, err := selectMirrors(cfg, only)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := check.OptionsFromConfig(cfg)
	opts.Full, opts.Log = *full, e.logger()
	rep, err := runPass(ctx, st, cfg, mirrors, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		err = json.NewEncoder(e.stdout).Encode(rep)
	} else {
		err = printCheck(e.stdout, rep)
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return errUnhealthy
	}
	return nil
}

// runPass fetches the origin's log and checks mirrors against it.
func runPass(ctx context.Context, st store.Store, cfg *config.Config, mirrors []config.Mirror, opts check.Options) (*check.Report, error) {
	origin, err := check.FetchOrigin(ctx, st, cfg.Origin.URL, cfg.Origin.Verifier, upstream.Config{})
	if err != nil {
		return nil, err
	}
	return check.Pass(ctx, st, origin, cfg.Origin.URL, mirrors, opts)
}

// selectMirrors returns the enabled mirrors, or exactly those named.
func selectMirrors(cfg *config.Config, names []string) ([]config.Mirror, error) {
	if len(names) == 0 {
		var out []config.Mirror
		for _, m := range cfg.Mirrors {
			if m.Enabled() {
				out = append(out, m)
			}
		}
		return out, nil
	}
	var out []config.Mirror
	for _, n := range names {
		m, ok := cfg.Mirror(n)
		if !ok {
			return nil, usagef("%s: no mirror named %q", cfg.File, n)
		}
		out = append(out, m)
	}
	return out, nil
}

// openStore opens the store hub.toml names.
func openStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	switch cfg.Store.Driver {
	case "sqlite":
		return store.OpenSQLite(ctx, cfg.Store.Path)
	case "postgres":
		return store.OpenPostgres(ctx, cfg.Store.DSN)
	}
	return nil, usagef("%s: store driver %q is not supported by this build", cfg.File, cfg.Store.Driver)
}

func printCheck(w io.Writer, r *check.Report) error {
	o := r.Origin
	state := "live"
	if o.Frozen {
		state = "FROZEN"
	}
	fmt.Fprintf(w, "origin %s: %d records, %d objects, signed %s ago (%s)\n\n", o.URL, o.Records, o.Objects,
		(time.Duration(o.AgeSeconds) * time.Second).String(), state)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "MIRROR\tSTATE\tRECORDS\tLAG\tCOMPLETE\tPROBLEMS")
	for _, m := range r.Mirrors {
		st := "ok"
		if !m.OK {
			st = "FAIL"
		}
		if !m.Enabled {
			st += " (disabled)"
		}
		if m.Superseded {
			st += " (not stored: another checker's later pass was)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f%%\t%d\n", m.Name, st, optInt(m.Records), optLag(m.LagSeconds), m.Complete*100, len(m.Problems))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, m := range r.Mirrors {
		if len(m.Problems) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", m.Name)
		for _, p := range m.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	return nil
}

func optInt(p *int64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func optLag(p *int64) string {
	if p == nil {
		return "-"
	}
	return (time.Duration(*p) * time.Second).String()
}
