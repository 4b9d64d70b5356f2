package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/pando-mirror/pando/internal/progress"
)

// env is the outside world a subcommand sees, so tests can run one in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	tty            bool // stderr is a terminal: draw progress bars
}

func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// meter starts a progress meter for a long operation; quiet turns it off.
func (e *env) meter(label string, quiet bool) *progress.Meter {
	if quiet {
		return nil
	}
	return progress.Start(label, e.stderr, e.tty, e.logger(), 5*time.Second)
}

// A command is one subcommand. Its run parses its own flags.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands lists every subcommand; "help" prints them in this order.
func commands() []command {
	return []command{
		{"demo", "a whole mirror network on loopback, for a first look", runDemo},
		{"keygen", "create an origin's signing key pair", runKeygen},
		{"publish", "sign a tree: append its changes to the log and re-sign the checkpoint", runPublish},
		{"serve", "serve a tree (origin or mirror) over HTTP or HTTPS", runServe},
		{"mirror", "keep a mirror in sync with its upstream (mirror sync)", runMirror},
		{"verify", "check a tree against its own signed checkpoint", runVerify},
		{"restore", "rebuild a lost origin from its mirrors, verified against the newest signed checkpoint they hold", runRestore},
		{"hub", "the hub: checker loop, redirector and API on one store", runHub},
		{"check", "check every mirror against the origin's signed log (one pass)", runCheck},
		{"mirrors", "import or export the mirror registry (Tails-style mirrors.json)", runMirrors},
		{"redirect", "the redirector alone, at the edge, over a signed availability map", runRedirect},
		{"get", "download a file through the mirror network and verify it against the signed log", runGet},
		{"stats", "download statistics: ingest a web server's log and report it to the hub", runStats},
	}
}

// usageError marks bad usage: exit status 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run runs the subcommand named by args[0] and returns the exit status:
// 0 on success, 1 on a failure the command detected, 2 on bad usage.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(e.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(e, c.name, c.run(ctx, e, args[1:]))
		}
	}
	fmt.Fprintf(e.stderr, "pando: unknown command %q; run \"pando help\"\n", args[0])
	return 2
}

func exitCode(e *env, name string, err error) int {
	var u usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		fmt.Fprintf(e.stderr, "pando %s: %v\nrun \"pando %s --help\" for usage\n", name, err, name)
		return 2
	default:
		fmt.Fprintf(e.stderr, "pando %s: %v\n", name, err)
		return 1
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "pando runs a network of download mirrors for a software repository.")
	fmt.Fprintln(w, "\nUsage: pando <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"pando <command> --help\" for a command's flags.")
	fmt.Fprintln(w, "Exit status: 0 success, 1 a failure was detected, 2 bad usage.")
}

// cmdFlags is a subcommand's flag set and help text.
type cmdFlags struct {
	*flag.FlagSet
	help string
	out  io.Writer
}

// flags returns a flag set for a subcommand whose --help prints help (a
// usage line and a paragraph describing the command) and then the flags.
func flags(e *env, name, help string) *cmdFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are reported once, by exitCode
	fs.Usage = func() {}
	return &cmdFlags{FlagSet: fs, help: help, out: e.stderr}
}

// parse parses args, printing the help on -h or --help, turning a parse
// failure into a usage error and refusing positional arguments beyond max.
func (f *cmdFlags) parse(args []string, max int) error {
	err := f.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(f.out, "%s\n\nFlags:\n", strings.TrimSpace(f.help))
		f.SetOutput(f.out)
		f.PrintDefaults()
		return err
	}
	if err != nil {
		return usageError{err.Error()}
	}
	if f.NArg() > max {
		return usagef("unexpected argument %q", f.Arg(max))
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
