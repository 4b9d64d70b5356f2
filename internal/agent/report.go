package agent

import (
	"context"
	"time"

	"github.com/pando-mirror/pando/internal/stats"
)

// reportLoop reports downloads every report interval until ctx ends; then,
// once the server has stopped (served is closed), it reports what was
// served last.
func (a *agent) reportLoop(ctx context.Context, served <-chan struct{}) {
	t := time.NewTicker(a.o.Report.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			<-served
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalReportTimeout)
			defer cancel()
			a.report(final)
			return
		case <-t.C:
			a.report(ctx)
		}
	}
}

// report sends what the access log holds past where the last report
// stopped. A failure is logged and counted; the next report sends the
// same lines again, the hub counting each batch once.
func (a *agent) report(ctx context.Context) {
	if a.out != nil {
		if err := a.out.TakeErr(); err != nil {
			a.log.Error("access log", "err", err)
		}
	}
	r := a.o.Report
	res, err := stats.Ingest(ctx, stats.IngestOptions{
		Log: a.o.AccessLog, Format: a.o.LogFormat, CountPartial: r.CountPartial,
		Mirror: r.Mirror, Sender: r.Sender, Logger: a.log,
	})
	a.m.ObserveReport(err, res.Downloads())
	if err != nil {
		a.log.Error("reporting downloads to the hub failed; the next report sends them again", "err", err)
		return
	}
	if res.Batches > 0 {
		a.log.Info("reported downloads", "downloads", res.Downloads(), "batches", res.Batches,
			"duplicates", res.Duplicates, "lines", res.Lines)
	}
}
