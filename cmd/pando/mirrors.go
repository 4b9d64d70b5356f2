package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pando-mirror/pando/internal/config"
)

const mirrorsHelp = `Usage: pando mirrors import [--config hub.toml] FILE
       pando mirrors export --config hub.toml

Moves the mirror registry in and out of the Tails-style mirrors.json format,
{"mirrors": [{"url_prefix": ..., "weight": ..., "email": ..., "notes": ...}]}.

"import" reads FILE ("-" for standard input) and prints one [[mirror]] entry
of hub.toml for each of its mirrors, or with --config appends them to that
file. "export" prints the enabled mirrors of a hub.toml as mirrors.json.
Run "pando mirrors import --help" or "pando mirrors export --help" for more.`

const mirrorsImportHelp = `Usage: pando mirrors import [--config hub.toml] FILE

Reads a Tails-style mirrors.json from FILE ("-" for standard input) and
turns each entry into a [[mirror]] entry of hub.toml: its name is derived
from the host name (made unique), its url_prefix becomes the http or https
access point according to its scheme, email becomes contact, and weight and
notes are kept. Country is left empty; add it by hand.

Without --config the entries are printed to standard output. With --config
they are appended to that file, which keeps its comments and layout; a
mirror whose name or URL the file already has is refused, and then nothing
is written. The file is replaced atomically.`

const mirrorsExportHelp = `Usage: pando mirrors export --config hub.toml

Prints the enabled mirrors (weight above 0) of hub.toml that have an http or
https access point as a Tails-style mirrors.json, preferring the https URL:
url_prefix, weight, email (from contact) and notes.`

// maxImportSize bounds the mirrors.json that "pando mirrors import" reads.
const maxImportSize = config.MaxMirrorsJSONSize

func runMirrors(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("need a subcommand: import or export")
	}
	switch args[0] {
	case "import":
		return runMirrorsImport(ctx, e, args[1:])
	case "export":
		return runMirrorsExport(ctx, e, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(e.stderr, mirrorsHelp)
		return nil
	}
	return usagef("unknown subcommand %q: want import or export", args[0])
}

func runMirrorsImport(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "mirrors import", mirrorsImportHelp)
	cfgPath := fs.String("config", "", "append the mirrors to this hub.toml instead of printing them")
	if err := fs.parse(args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("need the mirrors.json FILE to import")
	}
	entries, err := readMirrorsJSON(e, fs.Arg(0))
	if err != nil {
		return err
	}
	name := inputName(fs.Arg(0))
	if *cfgPath == "" {
		return printImported(e, name, entries)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	ms, err := config.ImportMirrors(name, entries, cfg.Mirrors)
	if err != nil {
		return err
	}
	if err := config.AppendMirrors(*cfgPath, ms); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added %d mirrors to %s%s\n", len(ms), *cfgPath, nameList(ms))
	return nil
}

func printImported(e *env, name string, entries []config.JSONMirror) error {
	ms, err := config.ImportMirrors(name, entries, nil)
	if err != nil {
		return err
	}
	text, err := config.FormatMirrors(ms)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(text)
	return err
}

func nameList(ms []config.Mirror) string {
	if len(ms) == 0 {
		return ""
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return ": " + strings.Join(names, ", ")
}

// inputName is how messages call the input file name.
func inputName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return name
}

// readMirrorsJSON reads and parses the mirrors.json name ("-": stdin).
func readMirrorsJSON(e *env, name string) ([]config.JSONMirror, error) {
	r := e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	name = inputName(name)
	data, err := io.ReadAll(io.LimitReader(r, maxImportSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return config.ParseMirrorsJSON(name, data)
}

func runMirrorsExport(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "mirrors export", mirrorsExportHelp)
	cfgPath := fs.String("config", "", "the hub.toml to export (required)")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usagef("need --config hub.toml")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	out, err := config.ExportMirrorsJSON(cfg.Mirrors)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(out)
	return err
}
