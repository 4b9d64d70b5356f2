package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/edge"
	"github.com/pando-mirror/pando/internal/serve"
)

// A proc is a server process the benchmark started.
type proc struct {
	cmd  *exec.Cmd
	addr string
	log  *buftest.Buffer // its stderr
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startProc starts name with args in env (nil: this process's); the
// caller passes the address it will listen on.
func startProc(env []string, addr, name string, args ...string) (*proc, error) {
	p := &proc{cmd: exec.Command(name, args...), addr: addr, log: &buftest.Buffer{}}
	p.cmd.Env = env
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// waitRedirect polls path until the server answers 302 and returns the
// time since started.
func (p *proc) waitRedirect(ctx context.Context, started time.Time, path string) (time.Duration, error) {
	c := &http.Client{
		Timeout:       time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for deadline := started.Add(30 * time.Second); time.Now().Before(deadline); {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		resp, err := c.Get("http://" + p.addr + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusFound {
				return time.Since(started), nil
			}
			return 0, fmt.Errorf("%s%s: %s", p.addr, path, resp.Status)
		}
		time.Sleep(500 * time.Microsecond)
	}
	return 0, fmt.Errorf("no redirect from %s within 30s\n%s", p.addr, p.log.String())
}

// pin moves every thread of the process to cpus ("" leaves it where it
// is). Start a Go program with pinning.serverEnv, so that its GOMAXPROCS
// fits from the start.
func (p *proc) pin(cpus string) error {
	if cpus == "" {
		return nil
	}
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(p.cmd.Process.Pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset -a -p -c %s %d: %v\n%s", cpus, p.cmd.Process.Pid, err, out)
	}
	return nil
}

// stop ends the process with SIGTERM (SIGKILL after 15s).
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// memory returns the process's VmRSS and VmHWM in bytes.
func (p *proc) memory() (rss, hwm int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			hwm = n << 10
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in /proc status")
	}
	return rss, hwm, nil
}

// cpuTime returns the CPU time the process has used, user and system, from
// /proc/PID/stat (in clock ticks of 1/100 s, as Linux reports them).
func (p *proc) cpuTime() (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	_, rest, ok := bytes.Cut(data, []byte(") "))
	f := strings.Fields(string(rest))
	if !ok || len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

var startupRE = regexp.MustCompile(`redirector ready.*startup=(\S+)`)

// loggedStartup returns the startup time the edge logged.
func (p *proc) loggedStartup() string {
	if m := startupRE.FindStringSubmatch(p.log.String()); m != nil {
		return m[1]
	}
	return "?"
}

// serveMinimal serves a reference handler: a fixed 302 with only a
// Location of the length of a mirror URL, on net/http ("minimal", the goal's
// reference) or on the edge's own server ("minimal-fast"), or on the
// edge's server with the same set and size of headers a pando redirect has
// ("fixed-full"), to tell the cost of choosing from the cost of serving and
// of sending a larger answer.
func serveMinimal(ctx context.Context, spec string) error {
	mode, addr, _ := strings.Cut(spec, "@")
	hdr := http.Header{"Location": {"https://m00.example.net/pub/pool/main/a/abc/abc_1.2.3-1_amd64.deb"}}
	if mode == "fixed-full" {
		for i := 1; i <= 5; i++ {
			hdr.Add("Link", fmt.Sprintf("<https://m%02d.example.net/pub/pool/main/a/abc/abc_1.2.3-1_amd64.deb>; rel=duplicate; pri=%d; geo=de", i, i))
		}
		hdr.Add("Link", `</pool/main/a/abc/abc_1.2.3-1_amd64.deb.meta4>; rel=describedby; type="application/metalink4+xml"`)
		hdr.Set("Repr-Digest", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
		hdr.Set("Digest", "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
		hdr.Set("Cache-Control", "private, no-store")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	switch mode {
	case "minimal":
		return serve.Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			out := w.Header()
			for k, v := range hdr {
				out[k] = v
			}
			w.WriteHeader(http.StatusFound)
		}), serve.Config{})
	case "minimal-fast", "fixed-full":
		type field struct{ key, value []byte }
		var fields []field
		for k, vs := range hdr {
			for _, v := range vs {
				fields = append(fields, field{[]byte(k), []byte(v)})
			}
		}
		return edge.ServeHandler(ctx, ln, func(ctx *fasthttp.RequestCtx) {
			for _, f := range fields {
				ctx.Response.Header.AddBytesKV(f.key, f.value)
			}
			ctx.SetStatusCode(http.StatusFound)
			ctx.Response.Header.SetContentLength(0)
		}, serve.Config{})
	}
	ln.Close()
	return fmt.Errorf("no reference handler %q", mode)
}
