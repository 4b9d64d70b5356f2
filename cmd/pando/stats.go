package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/pando-mirror/pando/internal/stats"
)

const statsHelp = `Usage: pando stats ingest [flags]

Subcommands:
  ingest   read a web server's access log and report its downloads to the hub

Run "pando stats ingest --help" for its flags. docs/STATS.md has the details.`

func runStats(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("need a subcommand: ingest")
	}
	switch args[0] {
	case "ingest":
		return runStatsIngest(ctx, e, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(e.stderr, statsHelp)
		return nil
	}
	return usagef("unknown subcommand %q; want ingest", args[0])
}

const statsIngestHelp = `Usage: pando stats ingest --log FILE --hub URL --mirror NAME --token-file FILE [flags]

Reads the mirror's access log (nginx or Apache in the combined or common
format, or pando serve's --access-log) from where the last run stopped and
reports to the hub how often each object was downloaded on each day. Run it
from cron or a timer, more often than the log is rotated.

A download is a GET answered 200 (206 too with --count-partial) of a path
that names an object: not a directory, not the signed log under .pando/,
not pando's own traffic (the checker's hash checks, other mirrors' syncs:
user agents pando-check and pando, in the combined format).
Other lines are skipped, lines that are not in the format are counted as
malformed; neither stops the run. Client addresses never leave the mirror.

Where the run stopped is kept in the state file (default FILE.pando-stats).
A log rotated since the last run (FILE.1, up to FILE.9, or a copytruncate
copy) is finished first; a truncated or replaced log is read from its start.
Counts are sent in batches, each acknowledged by the hub before the state
moves past it; a run that dies is repeated safely, the hub counting every
batch once. --dry-run prints the batches instead (as JSON lines with
--json) and saves nothing.

Exit status: 0 when everything read was reported, 1 if the log or state
cannot be read, another run holds the state file, or the hub refuses or
cannot be reached (the next run sends the same batch again), 2 on bad usage.`

// statsIngestFlags are the parsed flags of "pando stats ingest".
type statsIngestFlags struct {
	log, format, hub, mirror, tokenFile, state string
	countPartial, dryRun, asJSON, quiet        bool
}

func runStatsIngest(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "stats ingest", statsIngestHelp)
	var f statsIngestFlags
	fs.StringVar(&f.log, "log", "", "the access log `FILE` (required)")
	fs.StringVar(&f.format, "format", "combined", "the log's format: combined, common, or pando (pando serve's, which is combined)")
	fs.StringVar(&f.hub, "hub", "", "the hub's `URL`, e.g. https://hub.example.org/ (required without --dry-run)")
	fs.StringVar(&f.mirror, "mirror", "", "this mirror's `NAME` in the hub's registry (required without --dry-run)")
	fs.StringVar(&f.tokenFile, "token-file", "", "the `FILE` holding this mirror's token from hub.toml (required without --dry-run)")
	fs.StringVar(&f.state, "state", "", "keep where the last run stopped in `FILE` (default: the log's name + .pando-stats)")
	fs.BoolVar(&f.countPartial, "count-partial", false, "count 206 (Range) answers as downloads too: resumed downloads count, segmented ones several times")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the batches instead of sending them; save nothing")
	fs.BoolVar(&f.asJSON, "json", false, "print a JSON summary on stdout (with --dry-run: the batches as JSON lines)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress output")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	o, err := f.options(e)
	if err != nil {
		return err
	}
	m := e.meter("reading "+f.log, f.quiet)
	o.Meter, o.Logger = m, e.logger()
	res, err := stats.Ingest(ctx, o)
	m.Close()
	if err != nil {
		return err
	}
	if f.dryRun {
		return printIngest(e.stderr, f, res, false)
	}
	return printIngest(e.stdout, f, res, f.asJSON)
}

// options checks the flags and turns them into Ingest's options.
func (f statsIngestFlags) options(e *env) (stats.IngestOptions, error) {
	format, err := stats.ParseFormat(f.format)
	if err != nil {
		return stats.IngestOptions{}, usagef("--format: %v", err)
	}
	o := stats.IngestOptions{Log: f.log, State: f.state, Format: format, CountPartial: f.countPartial, Mirror: f.mirror, DryRun: f.dryRun}
	switch {
	case f.log == "":
		return o, usagef("need --log FILE")
	case f.dryRun:
		if o.Mirror == "" {
			o.Mirror = "dry-run"
		}
		o.Sender = &printSender{w: e.stdout, json: f.asJSON}
		return o, nil
	case f.hub == "" || f.mirror == "" || f.tokenFile == "":
		return o, usagef("need --hub, --mirror and --token-file (or --dry-run)")
	}
	c, err := statsClient(f.hub, f.tokenFile)
	o.Sender = c
	return o, err
}

// statsClient returns a client of the stats intake of the hub at base,
// with the token in tokenFile.
func statsClient(base, tokenFile string) (*stats.Client, error) {
	endpoint, err := statsEndpoint(base)
	if err != nil {
		return nil, usagef("--hub: %v", err)
	}
	token, err := readToken(tokenFile)
	if err != nil {
		return nil, err
	}
	return &stats.Client{URL: endpoint, Token: token}, nil
}

// statsEndpoint returns the stats intake URL of the hub at base.
func statsEndpoint(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q: want an http:// or https:// URL", base)
	}
	if !strings.HasSuffix(u.Path, "/api/v1/stats") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/stats"
	}
	return u.String(), nil
}

// readToken reads a token file: one line, no blanks in the token.
func readToken(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" || len(data) > 4096 || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("token file %s: want one token of up to 4096 bytes on one line", name)
	}
	return tok, nil
}

// printSender prints the batches of a dry run.
type printSender struct {
	w    io.Writer
	json bool
}

func (p *printSender) Send(_ context.Context, b *stats.Batch) (bool, error) {
	if p.json {
		enc := json.NewEncoder(p.w)
		enc.SetEscapeHTML(false)
		return false, enc.Encode(b)
	}
	var sb strings.Builder
	for _, c := range b.Counts {
		fmt.Fprintf(&sb, "%s %d %s\n", c.Day, c.Downloads, c.Path)
	}
	_, err := io.WriteString(p.w, sb.String())
	return false, err
}

func printIngest(w io.Writer, f statsIngestFlags, r stats.IngestResult, asJSON bool) error {
	if asJSON {
		files := r.Files
		if files == nil {
			files = []string{}
		}
		return json.NewEncoder(w).Encode(map[string]any{
			"files": files, "bytes": r.Bytes, "lines": r.Lines, "downloads": r.Downloads(),
			"batches": r.Batches, "already_counted": r.Duplicates, "gone": r.Gone, "outcomes": r.Map(),
		})
	}
	verb := "reported"
	if f.dryRun {
		verb = "found (dry run, nothing sent)"
	}
	_, err := fmt.Fprintf(w, "%s %d downloads in %d lines of %s (%d batches, %d already counted); skipped %d malformed, %d not GET, %d not 200, %d partial, %d .pando/, %d not an object, %d out of range, %d pando's own (checker, syncs)\n",
		verb, r.Downloads(), r.Lines, strings.Join(r.Files, " then "), r.Batches, r.Duplicates,
		r.By[stats.Malformed], r.By[stats.NotGET], r.By[stats.NotOK], r.By[stats.Partial], r.By[stats.Metadata],
		r.By[stats.NotObject], r.By[stats.OutOfRange], r.By[stats.Machine])
	return err
}
