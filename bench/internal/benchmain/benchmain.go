// Package benchmain owns what every benchmark program's main does the same
// way: signals, flag errors, exit status (0 done, 1 a check failed, 2 bad
// flags), so each benchmark is its flags and its run.
package benchmain

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ErrReported is a bad-flag error the flag package already printed with the
// usage; parse functions return it so it is not printed twice.
var ErrReported = errors.New("bad flags")

// Main runs a benchmark as a program and exits with its status.
func Main[C any](name string, parse func([]string, io.Writer) (C, error), run func(context.Context, C, io.Writer, io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Code(ctx, name, os.Args[1:], os.Stdout, os.Stderr, parse, run)
	stop()
	os.Exit(code)
}

// Code runs a benchmark with args and returns its exit status.
func Code[C any](ctx context.Context, name string, args []string, stdout, stderr io.Writer,
	parse func([]string, io.Writer) (C, error), run func(context.Context, C, io.Writer, io.Writer) error) int {
	cfg, err := parse(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrReported):
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	if err := run(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}
