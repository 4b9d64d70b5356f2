package main

import (
	"context"
	"log/slog"

	"github.com/pando-mirror/pando/internal/demo"
)

const demoHelp = `Usage: pando demo [--listen ADDR] [--dir DIR]

Starts a whole mirror network on loopback, for a first look: an origin
serving a sample repository (an ISO, a Maven artifact, distfiles) signed with
a fresh key; four mirrors synced from it with the real sync, one left stale,
one with a tampered file, and two run by the mirror agent (pando mirror run),
which re-sync every minute and report their downloads to the hub; and a hub that checks them all and sends each
download to a mirror that holds the right bytes, on its embedded store. It
prints what to open and try, and stops cleanly on Ctrl-C. Everything lives
in a temporary directory, removed at exit, unless --dir is given.`

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "demo", demoHelp)
	listen := fs.String("listen", "", "the hub's address (default 127.0.0.1:8080, or a free port if taken)")
	dir := fs.String("dir", "", "keep the network's files in DIR instead of a temporary directory")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return demo.Run(ctx, demo.Options{Dir: *dir, Listen: *listen, Out: e.stdout, Log: quiet})
}
