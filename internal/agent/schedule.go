package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pando-mirror/pando/internal/metrics"
	"github.com/pando-mirror/pando/internal/mirror"
	"github.com/pando-mirror/pando/internal/progress"
	"github.com/pando-mirror/pando/internal/safefile"
)

// progressInterval is how often a long sync logs how far it has come.
const progressInterval = time.Minute

// syncLoop runs a sync at once and then whenever the next one is due, until
// ctx ends. It returns an error, ending the agent, only when a sync fails
// in a way no later one can get past.
func (a *agent) syncLoop(ctx context.Context) error {
	failures := 0
	for {
		run, fatal := a.syncOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if fatal != nil {
			return fatal
		}
		if run.Result == metrics.SyncFailed {
			failures++
		} else {
			failures = 0
		}
		wait := nextWait(a.o.Interval, a.o.RetryMin, failures, rand.Float64())
		a.log.Debug("next sync", "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		case <-a.o.Hangup:
			t.Stop()
			a.hangup()
		}
	}
}

// hangup reopens the access log the agent writes; the sync loop then syncs
// at once.
func (a *agent) hangup() {
	a.log.Info("hangup: reopening the access log and syncing now")
	if a.out == nil {
		return
	}
	if err := a.out.Reopen(); err != nil {
		a.log.Error("reopening the access log failed; writing on to the old file", "err", err)
	}
}

// syncOnce runs one sync, logs it and records it in the metrics, and
// returns how it went. The error, not logged, is a failure no later sync
// can get past: the tree is on a file system that does not tell upper
// from lower case.
func (a *agent) syncOnce(ctx context.Context) (metrics.SyncRun, error) {
	start := time.Now()
	opts := a.o.Sync
	opts.Meter = progress.StartLog("syncing", a.log, progressInterval) // a long first sync shows how far it is
	res, err := mirror.Sync(ctx, opts)
	opts.Meter.Close()
	run := metrics.SyncRun{
		Result: runResult(res, err), Seconds: time.Since(start).Seconds(), Finished: time.Now(),
		Bytes: res.Bytes, Fetched: res.Fetched, Reused: res.Reused, Removed: res.Removed, Records: res.RecordsAfter,
	}
	if ctx.Err() != nil {
		return run, nil // shutting down: an interrupted run is not a failure
	}
	a.m.ObserveSync(run)
	switch run.Result {
	case metrics.SyncFailed:
		if _, ok := errors.AsType[*mirror.CaseError](err); ok {
			return run, fmt.Errorf("cannot sync: %w", err) // the agent stops with it and says so
		}
		a.log.Error("sync failed; the mirror serves its previous state", "err", err)
	case metrics.SyncLocked:
		a.log.Warn("sync skipped: another sync of this tree holds the lock", "root", a.o.Sync.Root)
	case metrics.SyncUpToDate:
		a.log.Info("sync: up to date", "records", res.RecordsAfter, "upstream", res.Upstream)
	default:
		a.log.Info("synced", "records_before", res.RecordsBefore, "records", res.RecordsAfter,
			"upstream", res.Upstream, "fetched", res.Fetched, "reused", res.Reused, "removed", res.Removed,
			"bytes", res.Bytes, "seconds", run.Seconds)
	}
	return run, nil
}

// runResult names the outcome of a sync run.
func runResult(res mirror.Result, err error) string {
	switch {
	case errors.Is(err, safefile.ErrLocked):
		return metrics.SyncLocked
	case err != nil:
		return metrics.SyncFailed
	case res.UpToDate:
		return metrics.SyncUpToDate
	}
	return metrics.SyncSynced
}

// nextWait is the wait before the next run: after failures failed runs in a
// row, retryMin doubled for each failure after the first, up to interval;
// otherwise the interval. Either is moved by up to 10% either way, by r in
// [0, 1), so mirrors started together do not stay in step at the upstream.
func nextWait(interval, retryMin time.Duration, failures int, r float64) time.Duration {
	d := interval
	if failures > 0 {
		d = retryMin
		for i := 1; i < failures && d < interval; i++ {
			d *= 2
		}
		d = min(d, interval)
	}
	return d + time.Duration((r*0.2-0.1)*float64(d))
}
