package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// dig runs dig against the hub's DNS server at addr and returns its output.
func dig(t *testing.T, addr string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("dig")
	if err != nil {
		t.Fatal("dig not found: `make test` installs it (Debian's dnsutils, via scripts/install-deps.sh)")
	}
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"@" + host, "-p", port, "+time=2", "+tries=2"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// lines returns the non-empty lines of s, sorted.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// TestHubDNS runs a hub with a [dns] section over mirrors on distinct
// loopback addresses (127.0.0.2 good, 127.0.0.3 good, 127.0.0.4 tampered)
// and asks it with dig and with Go's resolver: the download name answers
// only the healthy mirrors, the list name lists them, a foreign name is
// refused, and a list too large for UDP is truncated and fetched over TCP.
func TestHubDNS(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	trees := filepath.Join(n.dir, "trees")
	for _, name := range []string{"a", "b", "bad"} {
		if r := n.sync(t, n.url, filepath.Join(trees, name)); r.code != 0 {
			t.Fatalf("sync %s: %s", name, r.stderr)
		}
	}
	data := readFile(t, filepath.Join(trees, "bad"), "pool/a/alpha_1.0.tar.gz")
	data[10] ^= 1
	os.WriteFile(filepath.Join(trees, "bad", "pool/a/alpha_1.0.tar.gz"), data, 0o644)
	// 30 more mirrors on 127.0.0.2, each the same tree under its own name,
	// so that the list is too long for one UDP answer.
	const copies = 30
	for i := range copies {
		if err := os.Symlink("a", filepath.Join(trees, fmt.Sprintf("copy%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	_, port, _ := net.SplitHostPort(freeAddr(t))
	urls := map[string]string{}
	for host, tree := range map[string]string{"127.0.0.2": trees, "127.0.0.3": filepath.Join(trees, "b"), "127.0.0.4": filepath.Join(trees, "bad")} {
		addr := net.JoinHostPort(host, port)
		startServeArgs(t, addr, "--root", tree)
		urls[host] = "http://" + addr + "/"
	}

	dnsAddr := freeAddr(t)
	var b strings.Builder
	fmt.Fprintf(&b, "[origin]\nurl = %q\npubkey = %q\n\n[store]\npath = \"hub.db\"\n\n[check]\ninterval = \"1h\"\ntimeout = \"5s\"\n\n", n.url, n.pub)
	fmt.Fprintf(&b, "[dns]\nlisten = %q\nname = \"dl.example.org\"\nlist_name = \"_mirrors.example.org\"\nanswers = 4\nttl = \"30s\"\n\n", dnsAddr)
	mirror := func(name, url, cc string) {
		fmt.Fprintf(&b, "[[mirror]]\nname = %q\nhttp = %q\ncountry = %q\n\n", name, url, cc)
	}
	mirror("a", urls["127.0.0.2"]+"a/", "DE")
	mirror("b", urls["127.0.0.3"], "FR")
	mirror("bad", urls["127.0.0.4"], "NL")
	for i := range copies {
		mirror(fmt.Sprintf("copy%d", i), fmt.Sprintf("%scopy%d/", urls["127.0.0.2"], i), "DE")
	}
	cfg := filepath.Join(n.dir, "hub.toml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runHubProcess(t, cfg)

	// The DNS view follows the first pass within a second or so.
	want := []string{"127.0.0.2", "127.0.0.3"}
	var got []string
	for range 100 {
		if got = lines(dig(t, dnsAddr, "dl.example.org", "A", "+short")); slices.Equal(got, want) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("dig dl.example.org A: %v, want the healthy mirrors %v", got, want)
	}
	if out := dig(t, dnsAddr, "dl.example.org", "A"); !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "flags: qr aa") {
		t.Errorf("dig dl.example.org A: not an authoritative answer:\n%s", out)
	}

	// The list: every healthy mirror's URL, none of the tampered one's;
	// too large for UDP, so dig is told to retry over TCP.
	out := dig(t, dnsAddr, "_mirrors.example.org", "TXT")
	if !strings.Contains(out, "Truncated, retrying in TCP mode") {
		t.Errorf("dig TXT: the UDP answer was not truncated:\n%s", out)
	}
	txt := lines(dig(t, dnsAddr, "_mirrors.example.org", "TXT", "+short", "+tcp"))
	if len(txt) != copies+2 || !slices.Contains(txt, fmt.Sprintf("%q", "url="+urls["127.0.0.3"]+" weight=100 cc=FR")) ||
		strings.Contains(strings.Join(txt, "\n"), "127.0.0.4") {
		t.Errorf("dig TXT +tcp: %d records, want %d without the tampered mirror:\n%s", len(txt), copies+2, strings.Join(txt, "\n"))
	}

	// Mirrors on IP addresses have no SRV record, but the name is owned.
	if out := dig(t, dnsAddr, "_http._tcp._mirrors.example.org", "SRV"); !strings.Contains(out, "status: NOERROR") {
		t.Errorf("dig _http._tcp SRV: want NOERROR:\n%s", out)
	}
	if out := dig(t, dnsAddr, "foreign.example.com", "A"); !strings.Contains(out, "status: REFUSED") {
		t.Errorf("dig foreign.example.com: want REFUSED:\n%s", out)
	}

	// Go's own resolver, pointed at the hub.
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, dnsAddr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, err := r.LookupHost(ctx, "dl.example.org")
	if sort.Strings(addrs); err != nil || !slices.Equal(addrs, want) {
		t.Errorf("Go resolver dl.example.org: %v %v, want %v", addrs, err, want)
	}
	records, err := r.LookupTXT(ctx, "_mirrors.example.org")
	if err != nil || len(records) != copies+2 {
		t.Errorf("Go resolver _mirrors.example.org TXT: %d records, %v; want %d", len(records), err, copies+2)
	}
}
