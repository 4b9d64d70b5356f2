package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// timing is one timed command.
type timing struct {
	wall, cpu time.Duration
}

// run generates the log, builds pando and times both commands.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	dir, cleanup, err := workDir(cfg)
	if err != nil {
		return err
	}
	defer cleanup()
	loadBefore := loadAverage()
	logName := filepath.Join(dir, "access.log")
	fmt.Fprintf(stderr, "writing %d lines to %s\n", cfg.lines, logName)
	gen, err := writeLog(logName, cfg)
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "pando")
	fmt.Fprintln(stderr, "building pando")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pando").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/pando (run from the repository root): %v\n%s", err, out)
	}
	pin := pinner()
	ingest := append(pin, bin, "stats", "ingest", "--log", logName, "--format", "combined",
		"--dry-run", "--mirror", "bench", "--quiet")
	awk := append(pin, "awk", `{c[$7]++} END{for(p in c) print p, c[p]}`, logName)
	var best [2]timing
	for i := range cfg.runs {
		fmt.Fprintf(stderr, "run %d of %d\n", i+1, cfg.runs)
		a, _, err := timed(ctx, awk)
		if err != nil {
			return err
		}
		p, out, err := timed(ctx, ingest)
		if err != nil {
			return err
		}
		if err := checkCounts(out, gen.downloads); err != nil {
			return err
		}
		best[0], best[1] = better(best[0], p), better(best[1], a)
	}
	printReport(stdout, cfg, gen, best[0], best[1], len(pin) > 0, loadBefore)
	return nil
}

func workDir(cfg config) (string, func(), error) {
	if cfg.dir != "" {
		if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
			return "", nil, err
		}
		return cfg.dir, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "bench-stats-")
	if err != nil {
		return "", nil, err
	}
	if cfg.keep {
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

func writeLog(name string, cfg config) (generated, error) {
	f, err := os.Create(name)
	if err != nil {
		return generated{}, err
	}
	end := time.Now().UTC().Truncate(24 * time.Hour).Add(-time.Second) // the end of yesterday
	gen, err := generate(f, cfg, end)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return gen, err
}

// pinner returns the command prefix that keeps a command on CPU 0.
func pinner() []string {
	if _, err := exec.LookPath("taskset"); err == nil {
		return []string{"taskset", "-c", "0"}
	}
	return nil
}

// timed runs argv with GOMAXPROCS=1 and returns its wall and CPU time
// and its output.
func timed(ctx context.Context, argv []string) (timing, []byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return timing{}, nil, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, errb.String())
	}
	t := timing{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	return t, out.Bytes(), nil
}

func better(a, b timing) timing {
	if a.wall == 0 || b.wall < a.wall {
		return b
	}
	return a
}

// checkCounts sums the dry run's "day downloads path" lines.
func checkCounts(out []byte, want int64) error {
	var sum int64
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 3)
		n, err := strconv.ParseInt(f[min(1, len(f)-1)], 10, 64)
		if len(f) != 3 || err != nil {
			return fmt.Errorf("pando stats ingest printed %q", sc.Text())
		}
		sum += n
	}
	if sum != want {
		return fmt.Errorf("pando stats ingest counted %d downloads, the log has %d", sum, want)
	}
	return sc.Err()
}

// execOutput runs a short command and returns its output.
func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}
