package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/pando-mirror/pando/internal/agent"
	"github.com/pando-mirror/pando/internal/mirror"
	"github.com/pando-mirror/pando/internal/stats"
)

// How often the demo's mirror agents sync and report.
const (
	agentSyncInterval   = time.Minute
	agentReportInterval = 10 * time.Second
)

// runAgent runs the mirror agent for m on a free loopback port until ctx
// ends: it syncs from the origin, serves the tree and reports its
// downloads to the hub with a token of its own.
func (d *demo) runAgent(ctx context.Context, n *Network, m *Mirror) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	m.URL = "http://" + ln.Addr().String() + "/"
	m.token = rand.Text()
	o := agent.Options{
		Sync:     mirror.Options{Root: filepath.Join(d.dir, m.Name), Upstreams: []string{n.Origin}, Verifier: d.verifier},
		Interval: agentSyncInterval, Listener: ln, Log: d.log,
		Report: &agent.Report{Mirror: m.Name, Interval: agentReportInterval,
			Sender: &stats.Client{URL: n.Hub + "api/v1/stats", Token: m.token, Attempts: 1}},
	}
	d.agents.Add(1)
	go func() {
		defer d.agents.Done()
		if err := agent.Run(ctx, o); err != nil {
			d.errs <- fmt.Errorf("mirror agent %s: %w", m.Name, err)
		}
	}()
	return nil
}
