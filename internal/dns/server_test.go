package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/availability/availtest"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/geo/geotest"
	"github.com/pando-mirror/pando/internal/store"
)

// testWorld is an origin of three files and mirrors in several states.
func testWorld(t *testing.T) *availtest.World {
	t.Helper()
	w, err := availtest.New("repo.example.org", map[string][]byte{
		"a.iso": []byte("a"), "b/c.jar": []byte("c"), "d.txt": []byte("d"),
	})
	if err != nil {
		t.Fatal(err)
	}
	add := func(m config.Mirror, hold bool) {
		w.AddMirror(m)
		if hold {
			for _, a := range m.Access() {
				w.Hold(m.Name, a.Kind)
			}
		}
	}
	add(config.Mirror{Name: "de", Country: "DE", Weight: 100, HTTP: "http://127.0.0.2:8080/pub/"}, true)
	add(config.Mirror{Name: "fr", Country: "FR", Weight: 100, HTTPS: "https://127.0.0.3/"}, true)
	add(config.Mirror{Name: "us", Country: "US", Weight: 50, HTTPS: "https://mirror.us.example/x/"}, true)
	add(config.Mirror{Name: "stale", Country: "JP", Weight: 100, HTTP: "http://127.0.0.4/"}, false)
	w.Hold("stale", config.AccessHTTP, "a.iso")
	add(config.Mirror{Name: "down", Country: "DE", Weight: 100, HTTP: "http://127.0.0.5/"}, true)
	w.Result("down").Access[0].Reachable = false
	add(config.Mirror{Name: "tampered", Country: "DE", Weight: 100, HTTP: "http://127.0.0.6/"}, true)
	w.Result("tampered").Problems = []store.Problem{{Kind: store.Hash, Access: "http", Path: "a.iso"}}
	add(config.Mirror{Name: "off", Country: "DE", Weight: 0, HTTP: "http://127.0.0.7/"}, true)
	add(config.Mirror{Name: "ftp", Country: "DE", Weight: 100, FTP: "ftp://127.0.0.8/"}, true)
	return w
}

// fakeResolver answers mirror.us.example with two addresses of each family.
type fakeResolver struct {
	fail  atomic.Bool
	calls atomic.Int32
}

func (f *fakeResolver) resolve(_ context.Context, host string) ([]netip.Addr, error) {
	f.calls.Add(1)
	if f.fail.Load() || host != "mirror.us.example" {
		return nil, errors.New("no such host")
	}
	return []netip.Addr{netip.MustParseAddr("127.0.3.1"), netip.MustParseAddr("::ffff:127.0.3.2"),
		netip.MustParseAddr("127.0.3.1"), netip.MustParseAddr("2001:db8::3")}, nil
}

type testServer struct {
	addr string
	s    *Server
	res  *fakeResolver
	m    atomic.Pointer[availability.Map]
}

// startServer serves the map of w on loopback until the test ends.
func startServer(t *testing.T, w *availtest.World, opts Options) *testServer {
	t.Helper()
	dbName, err := geotest.WriteDefault(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db, err := geo.Open(dbName, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ts := &testServer{res: &fakeResolver{}}
	ts.m.Store(w.Map())
	opts.Name, opts.ListName = "dl.example.org", "_mirrors.example.org"
	if opts.Answers == 0 {
		opts.Answers = 4
	}
	opts.TTL, opts.Refresh = 60*time.Second, 10*time.Millisecond
	opts.Map, opts.Geo, opts.Resolve = ts.m.Load, func() *geo.DB { return db }, ts.res.resolve
	ts.s = New(opts)
	pc, ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.s.Serve(ctx, pc, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	ts.addr = pc.LocalAddr().String()
	return ts
}

// query asks name of type qtype over network ("udp" or "tcp"), with EDNS
// options when bufsize > 0.
func (ts *testServer) query(t *testing.T, network, name string, qtype uint16, bufsize uint16, opts ...dns.EDNS0) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	if bufsize > 0 {
		q.SetEdns0(bufsize, false)
		q.IsEdns0().Option = opts
	}
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	resp, _, err := c.Exchange(q, ts.addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	return resp
}

func answers(resp *dns.Msg) []string {
	var out []string
	for _, rr := range resp.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.AAAA.String())
		case *dns.TXT:
			out = append(out, strings.Join(rr.Txt, ""))
		}
	}
	sort.Strings(out)
	return out
}

func TestAnswersOnlyHealthyMirrors(t *testing.T) {
	ts := startServer(t, testWorld(t), Options{Answers: 10})
	for _, network := range []string{"udp", "tcp"} {
		resp := ts.query(t, network, "DL.example.org", dns.TypeA, 0)
		want := []string{"127.0.0.2", "127.0.0.3", "127.0.3.1", "127.0.3.2"}
		if got := answers(resp); !slices.Equal(got, want) || resp.Rcode != dns.RcodeSuccess || !resp.Authoritative {
			t.Errorf("%s A: %s %v (aa %v), want NOERROR %v", network, dns.RcodeToString[resp.Rcode], got, resp.Authoritative, want)
		}
		if resp.Answer[0].Header().Ttl != 60 {
			t.Errorf("%s A: TTL %d, want 60", network, resp.Answer[0].Header().Ttl)
		}
	}
	if got := answers(ts.query(t, "udp", "dl.example.org", dns.TypeAAAA, 0)); !slices.Equal(got, []string{"2001:db8::3"}) {
		t.Errorf("AAAA: %v", got)
	}
}

func TestAnswersAtMostAnswersOnePerMirrorFirst(t *testing.T) {
	ts := startServer(t, testWorld(t), Options{Answers: 3})
	for range 20 {
		got := answers(ts.query(t, "udp", "dl.example.org", dns.TypeA, 0))
		both := slices.Contains(got, "127.0.3.1") && slices.Contains(got, "127.0.3.2")
		if len(got) != 3 || !slices.Contains(got, "127.0.0.2") || !slices.Contains(got, "127.0.0.3") || both {
			t.Fatalf("A with answers = 3: %v, want one address of each of the 3 mirrors", got)
		}
	}
}

func TestClientSubnetChoosesNearbyMirror(t *testing.T) {
	ts := startServer(t, testWorld(t), Options{Answers: 1})
	cases := []struct {
		subnet string
		want   string
	}{
		{"127.0.1.0/24", "127.0.0.2"}, // Germany
		{"127.0.2.0/24", "127.0.0.3"}, // France
		{"127.0.3.0/24", "127.0.3.1"}, // the United States; first of its addresses
		{"127.0.6.0/24", ""},          // Austria: Europe, either de or fr
	}
	for _, c := range cases {
		p := netip.MustParsePrefix(c.subnet)
		ecs := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(p.Bits()), Address: p.Addr().AsSlice()}
		for range 10 {
			resp := ts.query(t, "udp", "dl.example.org", dns.TypeA, 1232, ecs)
			got := answers(resp)
			ok := len(got) == 1 && (got[0] == c.want || c.want == "" && (got[0] == "127.0.0.2" || got[0] == "127.0.0.3"))
			if !ok {
				t.Fatalf("A from %s: %v, want %q", c.subnet, got, c.want)
			}
			opt := resp.IsEdns0()
			if opt == nil || subnetOption(opt) == nil || subnetOption(opt).SourceScope != uint8(p.Bits()) {
				t.Fatalf("A from %s: response has no client subnet option scoped to /%d: %v", c.subnet, p.Bits(), opt)
			}
		}
	}
}

func TestListsMirrorsInTXT(t *testing.T) {
	ts := startServer(t, testWorld(t), Options{})
	got := answers(ts.query(t, "udp", "_mirrors.example.org", dns.TypeTXT, 1232))
	want := []string{
		"url=http://127.0.0.2:8080/pub/ weight=100 cc=DE",
		"url=https://127.0.0.3/ weight=100 cc=FR",
		"url=https://mirror.us.example/x/ weight=50 cc=US",
	}
	if !slices.Equal(got, want) {
		t.Errorf("TXT:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRefusesForeignNames(t *testing.T) {
	ts := startServer(t, testWorld(t), Options{})
	for _, name := range []string{"foreign.example.com", "example.org", "x.dl.example.org"} {
		resp := ts.query(t, "udp", name, dns.TypeA, 0)
		if resp.Rcode != dns.RcodeRefused || resp.Authoritative || len(resp.Answer) != 0 {
			t.Errorf("%s: %s (aa %v) %v, want REFUSED", name, dns.RcodeToString[resp.Rcode], resp.Authoritative, resp.Answer)
		}
	}
	// An owned name with no records of the type: NOERROR, empty, with SOA.
	resp := ts.query(t, "udp", "dl.example.org", dns.TypeMX, 0)
	if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 0 || len(resp.Ns) != 1 {
		t.Errorf("MX: %s %v %v, want NOERROR with an SOA", dns.RcodeToString[resp.Rcode], resp.Answer, resp.Ns)
	}
}

// bigWorld has n complete mirrors on 127.0.1.x.
func bigWorld(t testing.TB, n int) *availtest.World {
	t.Helper()
	w, err := availtest.New("repo.example.org", map[string][]byte{"a": []byte("a")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m := config.Mirror{Name: fmt.Sprintf("m%d", i), Weight: 100, Country: "DE", HTTPS: fmt.Sprintf("https://127.0.1.%d/pub/", i+1)}
		w.AddMirror(m)
		w.Hold(m.Name, config.AccessHTTPS)
	}
	return w
}

func TestTruncatesLargeUDPAnswers(t *testing.T) {
	ts := startServer(t, bigWorld(t, 30), Options{})
	for _, bufsize := range []uint16{0, 512, 1232} {
		resp := ts.query(t, "udp", "_mirrors.example.org", dns.TypeTXT, bufsize)
		if !resp.Truncated || len(resp.Answer) >= 30 {
			t.Errorf("UDP TXT, buffer %d: TC %v with %d records, want truncated", bufsize, resp.Truncated, len(resp.Answer))
		}
	}
	resp := ts.query(t, "tcp", "_mirrors.example.org", dns.TypeTXT, 0)
	if resp.Truncated || len(resp.Answer) != 30 {
		t.Errorf("TCP TXT: TC %v with %d records, want all 30", resp.Truncated, len(resp.Answer))
	}
}

func TestRateLimitPerClientPrefix(t *testing.T) {
	l := newLimiter(1, 3)
	now := time.Unix(1700000000, 0)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.200")
	for i := range 3 {
		if !l.allow(a, now) {
			t.Fatalf("query %d refused within the burst", i)
		}
	}
	if l.allow(b, now) {
		t.Error("a second address of the same /24 escaped the limit")
	}
	if !l.allow(netip.MustParseAddr("192.0.3.1"), now) || !l.allow(a, now.Add(time.Second)) {
		t.Error("another /24, or the same one a second later, was refused")
	}
	if clientPrefix(netip.MustParseAddr("2001:db8:1:2:3::4")).String() != "2001:db8:1:2::/64" {
		t.Error("IPv6 clients are not limited by /64")
	}
	// Over UDP, queries over the limit get no answer.
	ts := startServer(t, testWorld(t), Options{Rate: 0.001, Burst: 2})
	ts.query(t, "udp", "dl.example.org", dns.TypeA, 0)
	ts.query(t, "udp", "dl.example.org", dns.TypeA, 0)
	q := new(dns.Msg)
	q.SetQuestion("dl.example.org.", dns.TypeA)
	c := &dns.Client{Net: "udp", Timeout: 300 * time.Millisecond}
	if _, _, err := c.Exchange(q, ts.addr); err == nil {
		t.Error("a UDP query over the limit was answered")
	}
	if resp := ts.query(t, "tcp", "dl.example.org", dns.TypeA, 0); resp.Rcode != dns.RcodeRefused {
		t.Errorf("a TCP query over the limit: %s, want REFUSED", dns.RcodeToString[resp.Rcode])
	}
}

func TestNewMapIsServedAndFailedLookupKeepsAddresses(t *testing.T) {
	w := testWorld(t)
	ts := startServer(t, w, Options{Answers: 10})
	if got := answers(ts.query(t, "udp", "dl.example.org", dns.TypeA, 0)); len(got) != 4 {
		t.Fatalf("first map: %v", got)
	}
	ts.res.fail.Store(true)
	w.Result("de").Access[0].Reachable = false // de fails its next check
	ts.m.Store(w.Map())
	want := []string{"127.0.0.3", "127.0.3.1", "127.0.3.2"}
	for range 200 {
		if got := answers(ts.query(t, "udp", "dl.example.org", dns.TypeA, 0)); slices.Equal(got, want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("after a new map: %v, want %v", answers(ts.query(t, "udp", "dl.example.org", dns.TypeA, 0)), want)
}

func TestNoMapYetIsServerFailure(t *testing.T) {
	s := New(Options{Name: "dl.example.org", Map: func() *availability.Map { return nil }})
	q := new(dns.Msg)
	q.SetQuestion("dl.example.org.", dns.TypeA)
	if resp := s.answer(q, netip.Addr{}); resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("before the first map: %s, want SERVFAIL", dns.RcodeToString[resp.Rcode])
	}
	q.Question = append(q.Question, q.Question[0])
	if resp := s.answer(q, netip.Addr{}); resp.Rcode != dns.RcodeFormatError {
		t.Errorf("two questions: %s, want FORMERR", dns.RcodeToString[resp.Rcode])
	}
}

func FuzzAnswer(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"dl.example.org.", dns.TypeA}, {"_mirrors.example.org.", dns.TypeTXT}, {"x.", dns.TypeAAAA}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.SetEdns0(512, false)
		m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.IPv4(127, 0, 1, 0)}}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	w := bigWorld(f, 3)
	m := w.Map()
	s := New(Options{Name: "dl.example.org", ListName: "_mirrors.example.org", Answers: 4, Map: func() *availability.Map { return m }})
	s.Update(context.Background())
	f.Fuzz(func(t *testing.T, b []byte) {
		r := new(dns.Msg)
		if r.Unpack(b) != nil {
			return
		}
		resp := s.answer(r, netip.MustParseAddr("127.0.0.1"))
		resp.Truncate(udpSize(r))
		if _, err := resp.Pack(); err != nil {
			t.Fatalf("answer does not pack: %v", err)
		}
	})
}

func TestListsMirrorsInSRV(t *testing.T) {
	ts := startServer(t, testWorld(t), Options{})
	resp := ts.query(t, "tcp", "_https._tcp._mirrors.example.org", dns.TypeSRV, 0)
	if len(resp.Answer) != 1 || resp.Answer[0].(*dns.SRV).Target != "mirror.us.example." ||
		resp.Answer[0].(*dns.SRV).Port != 443 || resp.Answer[0].(*dns.SRV).Weight != 50 {
		t.Errorf("SRV _https._tcp: %v, want mirror.us.example. port 443 weight 50", resp.Answer)
	}
	// Mirrors on IP literals have no SRV record: an empty answer.
	resp = ts.query(t, "udp", "_http._tcp._mirrors.example.org", dns.TypeSRV, 0)
	if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 0 || !resp.Authoritative {
		t.Errorf("SRV _http._tcp: %s %v, want an empty authoritative answer", dns.RcodeToString[resp.Rcode], resp.Answer)
	}
	if resp := ts.query(t, "udp", "_ftp._tcp._mirrors.example.org", dns.TypeSRV, 0); resp.Rcode != dns.RcodeRefused {
		t.Errorf("SRV _ftp._tcp: %s, want REFUSED", dns.RcodeToString[resp.Rcode])
	}
}
