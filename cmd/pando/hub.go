package main

import (
	"context"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/hub"
)

const hubHelp = `Usage: pando hub --config hub.toml

Runs the hub of a mirror network: the checker every check.interval (see
"pando check"), the redirector over what it verified (GET /path answers 302
to a nearby mirror that holds the object's current bytes), the JSON API
(/api/v1/mirrors, /api/v1/mirrors/NAME, /api/v1/objects?path=,
/api/v1/status), the status pages (/), the statistics intake
(POST /api/v1/stats), the signed map for edges (/availability.map, with
hub.key), Prometheus metrics (/metrics) and, with a [dns] section, an
authoritative DNS server naming healthy mirrors, all on the store hub.toml
names (an embedded SQLite file by default). SIGHUP re-reads hub.toml: mirrors, weights and policy change
without dropping a request, and a pass starts at once. SIGTERM or Ctrl-C
stops it cleanly.`

func runHub(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "hub", hubHelp)
	cfgName := fs.String("config", "hub.toml", "the hub configuration")
	listen := fs.String("listen", "", "listen here instead of hub.listen")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgName)
	if err != nil {
		return usageError{err.Error()}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	log := e.logger()
	h, err := hub.New(cfg, st, hub.Options{Log: log})
	if err != nil {
		return err
	}
	addr := cfg.Hub.Listen
	if *listen != "" {
		addr = *listen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				next, err := config.Load(*cfgName)
				if err == nil {
					err = h.Reload(ctx, next)
				}
				if err != nil {
					log.Error("reload refused; keeping the running configuration", "config", *cfgName, "err", err)
					continue
				}
				log.Info("reloaded", "config", *cfgName, "mirrors", len(next.Mirrors))
			}
		}
	}()
	return h.Run(ctx, ln)
}
