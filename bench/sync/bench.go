package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pando-mirror/pando/bench/internal/delayproxy"
	hostinfo "github.com/pando-mirror/pando/bench/internal/machine"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// A bench is one benchmark run in progress.
type bench struct {
	cfg      config
	w        *workspace
	lg       *progress
	tree     tree
	pando    string // binary
	records  int64  // record count of the last publish
	pandoURL string
	rsyncURL string
	rep      *report
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	lg := newProgress(stderr)
	w, err := newWorkspace(cfg.keep)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.close(); cerr != nil && err == nil {
			err = fmt.Errorf("removing the workspace: %w", cerr)
		}
	}()
	b := &bench{cfg: cfg, w: w, lg: lg, rep: newReport(cfg)}
	runErr := b.setup(ctx)
	if runErr == nil {
		runErr = b.steps(ctx)
	}
	b.rep.Machine.LoadAfter = hostinfo.LoadAverage()
	if perr := b.rep.print(stdout, stderr, cfg.asJSON); perr != nil && runErr == nil {
		runErr = perr
	}
	if runErr != nil {
		return runErr
	}
	if n := b.rep.failures(); n > 0 {
		return fmt.Errorf("%d step(s) failed a correctness check; their times mean nothing", n)
	}
	return nil
}

// setup builds pando, generates the tree, lays out the origin and makes
// the origin's key.
func (b *bench) setup(ctx context.Context) error {
	b.lg.printf("workspace %s", b.w.base)
	bin, err := buildPando(ctx, b.cfg, b.w.run)
	if err != nil {
		return err
	}
	b.pando = bin
	b.rep.Machine = probeMachine(ctx)
	b.tree = planTree(b.cfg.files, b.cfg.scale, b.cfg.seed)
	b.rep.Bytes = b.tree.Bytes
	if err := ensurePristine(ctx, b.w, b.tree, b.cfg, b.lg); err != nil {
		return err
	}
	if err := linkTree(ctx, b.w.pristine, b.w.origin); err != nil {
		return fmt.Errorf("laying out the origin: %w", err)
	}
	_, err = runCmd(ctx, b.cfg.stepTimeout, "", b.pando, "keygen", "--out", b.w.key, "bench.example.org")
	return err
}

// steps runs the benchmark proper. It returns an error only when the run
// cannot go on; failed checks are recorded in the report.
func (b *bench) steps(ctx context.Context) error {
	if err := b.publish(ctx, "publish initial", noGoal); err != nil {
		return err
	}
	if err := b.publish(ctx, "publish no change", underOneSecond); err != nil {
		return err
	}
	stop, err := b.startServers(ctx)
	if err != nil {
		return err
	}
	defer stop()
	if err := b.sync(ctx, "sync initial", atLeast(1)); err != nil { // no slower than rsync
		return err
	}
	if b.cfg.fsyncRef {
		b.fsyncReference(ctx)
	}
	if err := b.sync(ctx, "sync no change", atLeast(20)); err != nil {
		return err
	}
	writes, removes, ch := planChange(b.tree, b.cfg.change, b.cfg.scale, b.cfg.seed)
	b.lg.printf("changing %s", ch)
	if err := applyChange(ctx, b.w.origin, writes, removes); err != nil {
		return err
	}
	b.rep.Change = ch
	pct := strconv.FormatFloat(b.cfg.change*100, 'g', 3, 64) + "% change"
	if err := b.publish(ctx, "publish "+pct, noGoal); err != nil {
		return err
	}
	return b.sync(ctx, "sync "+pct, atLeast(3))
}

// publish times pando publish of the origin.
func (b *bench) publish(ctx context.Context, name string, g goal) error {
	b.lg.printf("%s ...", name)
	flushDisks()
	r, err := runCmd(ctx, b.cfg.stepTimeout, "", b.pando, "publish", "--root", b.w.origin, "--key", b.w.key+".key", "--quiet", "--json")
	s := step{Name: name, Pando: r.took.Seconds()}
	if err != nil {
		s.Failed = err.Error()
		b.rep.add(s, g)
		return err
	}
	var sum struct {
		After  int64 `json:"records_after"`
		Hashed int64 `json:"hashed_files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		s.Failed = fmt.Sprintf("reading pando publish --json: %v", err)
		b.rep.add(s, g)
		return errors.New(s.Failed)
	}
	b.records = sum.After
	s.Check = fmt.Sprintf("%d records, %d files hashed", sum.After, sum.Hashed)
	s.PandoSummary = json.RawMessage(r.stdout)
	b.rep.add(s, g)
	b.lg.printf("%s: %.3fs (%s)", name, s.Pando, s.Check)
	return nil
}

// sync times pando mirror sync and then rsync into their own mirrors, and
// checks both mirrors afterwards. A failed check is recorded in the report;
// the error is only for a run that was interrupted.
func (b *bench) sync(ctx context.Context, name string, g goal) error {
	b.lg.printf("%s: pando ...", name)
	args := []string{"mirror", "sync", "--upstream", b.pandoURL, "--root", b.w.pandoM,
		"--pubkey", b.w.key + ".pub", "--quiet", "--json"}
	if b.cfg.jobs > 0 {
		args = append(args, "--jobs", strconv.Itoa(b.cfg.jobs))
	}
	flushDisks()
	pr, perr := runCmd(ctx, b.cfg.stepTimeout, "", b.pando, args...)
	b.lg.printf("%s: pando %.3fs%s; rsync ...", name, pr.took.Seconds(), syncSummary(pr.stdout))
	flushDisks()
	rr, rerr := runCmd(ctx, b.cfg.stepTimeout, "", "rsync", "-a", "--delete", b.rsyncURL, b.w.rsyncM+"/")
	b.lg.printf("%s: rsync %.3fs; checking both mirrors ...", name, rr.took.Seconds())
	s := step{Name: name, Pando: pr.took.Seconds()}
	s.setRsync(rr.took.Seconds())
	if perr == nil && json.Valid([]byte(pr.stdout)) {
		s.PandoSummary = json.RawMessage(pr.stdout)
	}
	check, cerr := b.checkMirrors(ctx)
	s.Check = check
	if err := errors.Join(perr, rerr, cerr); err != nil {
		s.Failed = err.Error()
		b.lg.printf("%s: FAILED: %v", name, err)
	}
	b.rep.add(s, g)
	return ctx.Err()
}

// fsyncReference times an initial rsync --fsync into a fresh mirror and
// sets it beside the initial pando sync: both then make every file durable.
func (b *bench) fsyncReference(ctx context.Context) {
	const name = "sync initial, fsync"
	dst := filepath.Join(b.w.run, "mirror-rsync-fsync")
	b.lg.printf("%s ...", name)
	flushDisks()
	r, err := runCmd(ctx, b.cfg.stepTimeout, "", "rsync", "-a", "--delete", "--fsync", b.rsyncURL, dst+"/")
	b.lg.printf("%s: %.3fs", name, r.took.Seconds())
	s := step{Name: name, Pando: b.rep.Steps[len(b.rep.Steps)-1].Pando, Check: "rsync run with --fsync; pando as above"}
	s.setRsync(r.took.Seconds())
	want, werr := pathSizes(b.w.origin)
	got, gerr := pathSizes(dst)
	if err = errors.Join(err, werr, gerr); err == nil {
		if d := diffTrees(want, got); d != "" {
			err = fmt.Errorf("rsync --fsync mirror differs from the origin: %s", d)
		}
	}
	if err != nil {
		s.Failed = err.Error()
	} else {
		s.Check += fmt.Sprintf("; files: rsync --fsync %d", len(got))
	}
	b.rep.add(s, noGoal)
	if err := os.RemoveAll(dst); err != nil {
		b.lg.printf("removing %s: %v", dst, err)
	}
}

// syncSummary picks what pando mirror sync did out of its JSON summary.
func syncSummary(out string) string {
	var r struct {
		Protocol string `json:"protocol"`
		Fetched  int    `json:"files_fetched"`
		Bytes    int64  `json:"bytes"`
		Removed  int    `json:"removed"`
	}
	if json.Unmarshal([]byte(out), &r) != nil {
		return ""
	}
	return fmt.Sprintf(" (%s, %d files fetched, %s, %d removed)", orDash(r.Protocol), r.Fetched, human(r.Bytes), r.Removed)
}

// flushDisks writes dirty pages out before a timed command, so one step
// does not pay for the previous step's writes.
func flushDisks() { syscall.Sync() }

// startServers starts pando serve and an rsync daemon on the origin, each
// on loopback, behind a delay proxy when an rtt is set.
func (b *bench) startServers(ctx context.Context) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	pandoAddr, d, err := b.startPandoServe(ctx)
	if err != nil {
		return stop, err
	}
	stops = append(stops, d.stop)
	rsyncAddr, d, err := b.startRsyncd(ctx)
	if err != nil {
		return stop, err
	}
	stops = append(stops, d.stop)
	if b.cfg.rtt > 0 {
		pp, err := delayproxy.Start(ctx, pandoAddr, b.cfg.rtt)
		if err != nil {
			return stop, err
		}
		stops = append(stops, pp.Close)
		rp, err := delayproxy.Start(ctx, rsyncAddr, b.cfg.rtt)
		if err != nil {
			return stop, err
		}
		stops = append(stops, rp.Close)
		pandoAddr, rsyncAddr = pp.Addr(), rp.Addr()
		b.lg.printf("delay proxies: %v round trip in front of both servers", b.cfg.rtt)
	}
	b.pandoURL = "http://" + pandoAddr + "/"
	b.rsyncURL = "rsync://" + rsyncAddr + "/repo/"
	b.lg.printf("serving the origin at %s and %s", b.pandoURL, b.rsyncURL)
	return stop, nil
}

func (b *bench) startPandoServe(ctx context.Context) (string, *daemon, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	d, err := startDaemon(ctx, addr, b.pando, "serve", "--root", b.w.origin, "--listen", addr)
	return addr, d, err
}

func (b *bench) startRsyncd(ctx context.Context) (string, *daemon, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, err
	}
	conf := filepath.Join(b.w.run, "rsyncd.conf")
	text := fmt.Sprintf("use chroot = no\nlog file = /dev/null\n[repo]\npath = %s\nread only = yes\n", b.w.origin)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return "", nil, fmt.Errorf("rsync daemon config: %w", err)
	}
	d, err := startDaemon(ctx, addr, "rsync", "--daemon", "--no-detach", "--config="+conf, "--address=127.0.0.1", "--port="+port)
	return addr, d, err
}
