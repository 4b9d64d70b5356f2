package status

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/store"
)

// The tests look at a network of seven mirrors, one in each state a person
// must tell apart, as a hub would see it after four checker passes.

// now is when the pages are rendered.
var testNow = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

// The mirrors and the state each is in.
var wantStates = map[string]string{
	"berlin":   "Healthy",
	"lyon":     "Tampered",
	"ohio":     "Stale",
	"osaka":    "Down",
	"saopaulo": "Warning",
	"oslo":     "Disabled",
	"nairobi":  "Not checked yet",
}

// The objects of the origin's log.
var testFiles = map[string]string{
	"releases/1.0/os.iso": "the image",
	"pool/a.txt":          "a",
	"pool/b.txt":          "b",
}

const isoPath = "releases/1.0/os.iso"

// A testSource is a hub as the pages see it.
type testSource struct {
	cfg       *config.Config
	origin    *logdir.Log
	st        store.Store
	redirects map[string]int64 // nil: not counted
	downloads func(DownloadQuery) ([]DayCount, error)
}

func (s *testSource) Config() *config.Config { return s.cfg }
func (s *testSource) Origin() *logdir.Log    { return s.origin }
func (s *testSource) Store() store.Store     { return s.st }

func (s *testSource) Redirects(mirror string) (int64, bool) {
	if s.redirects == nil {
		return 0, false
	}
	return s.redirects[mirror], true
}

func (s *testSource) Downloads(ctx context.Context, q DownloadQuery) ([]DayCount, error) {
	if s.downloads == nil {
		return nil, nil
	}
	return s.downloads(q)
}

func sum(content string) string {
	h := sha256.Sum256([]byte(content))
	return hex.EncodeToString(h[:])
}

// testOrigin returns the origin's log: the three files, published over
// the last days, the newest one 6 hours ago, signed 2 hours ago.
func testOrigin(t *testing.T) *logdir.Log {
	t.Helper()
	var lines [][]byte
	paths := []string{"pool/a.txt", "pool/b.txt", isoPath}
	for i, p := range paths {
		r := journal.Record{Kind: journal.File, Path: p, Size: int64(len(testFiles[p])),
			Time:  testNow.Add(time.Duration(i-len(paths))*24*time.Hour + 18*time.Hour).Unix(),
			MTime: testNow.Add(-100 * time.Hour).Unix()}
		r.SHA256 = sha256.Sum256([]byte(testFiles[p]))
		line, err := journal.AppendLine(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line[:len(line)-1])
	}
	l, _, err := logdir.Empty("repo.example.org").Extend(lines)
	if err != nil {
		t.Fatal(err)
	}
	l.Checkpoint.Time = testNow.Add(-2 * time.Hour)
	return l
}

func testConfig() *config.Config {
	m := func(name, country string, weight int, access ...string) config.Mirror {
		cm := config.Mirror{Name: name, Country: country, Weight: weight, Contact: "admin@" + name + ".example"}
		for _, a := range access {
			u := a + "://" + name + ".example/pub/"
			switch a {
			case "http":
				cm.HTTP = u
			case "https":
				cm.HTTPS = u
			case "rsync":
				cm.Rsync = u
			case "ftp":
				cm.FTP = u
			}
		}
		return cm
	}
	return &config.Config{
		File:   "hub.toml",
		Origin: config.Origin{URL: "https://origin.example/", MaxAge: 24 * time.Hour},
		Check:  config.Check{Interval: 15 * time.Minute, TLSWarn: 14 * 24 * time.Hour},
		Mirrors: []config.Mirror{
			m("berlin", "DE", 300, "https", "rsync"),
			m("lyon", "FR", 100, "https"),
			m("ohio", "US", 100, "http"),
			m("osaka", "JP", 100, "https", "ftp"),
			m("saopaulo", "BR", 50, "https"),
			m("oslo", "NO", 0, "https"),
			m("nairobi", "KE", 100, "https"),
		},
	}
}

func records(n int64) *int64 { return &n }

// passAt is when each of the four passes checked, oldest first.
func passAt(i int) time.Time {
	return testNow.Add([]time.Duration{-72 * time.Hour, -48 * time.Hour, -24 * time.Hour, -time.Hour}[i])
}

// result returns what pass i found at a mirror.
func result(name string, i int) store.MirrorResult {
	at := passAt(i)
	ok := func(kind string) store.AccessResult {
		a := store.AccessResult{Access: kind, URL: kind + "://" + name + ".example/pub/", Reachable: true,
			Records: records(3), Complete: 1, OK: true}
		if kind == "https" {
			a.TLSExpiry = testNow.Add(80 * 24 * time.Hour)
		}
		return a
	}
	r := store.MirrorResult{Mirror: name, Checked: at}
	switch name {
	case "berlin":
		r.Access = []store.AccessResult{ok("https"), ok("rsync")}
		if i == 1 {
			r.Access[1].Lag, r.Access[1].Records = 40*time.Minute, records(2)
		}
	case "lyon":
		a := ok("https")
		if i == 3 {
			a.OK, a.Complete, a.Detail = false, 1, "1 object with the wrong content"
			r.Problems = []store.Problem{{Access: "https", Kind: store.Hash, Path: isoPath,
				Expected: sum(testFiles[isoPath]), Got: sum("not the image")}}
		}
		r.Access = []store.AccessResult{a}
	case "ohio":
		a := ok("http")
		a.Records, a.Complete = records(2), 0.67
		a.Lag = time.Duration(6+i*8) * time.Hour
		if i >= 2 {
			a.OK = false
			r.Problems = []store.Problem{{Kind: store.Stale, Expected: "3 records", Got: "2"}}
		}
		r.Access = []store.AccessResult{a}
	case "osaka":
		r.Access = []store.AccessResult{ok("ftp"), ok("https")}
		if i >= 2 {
			for j := range r.Access {
				r.Access[j] = store.AccessResult{Access: r.Access[j].Access, URL: r.Access[j].URL, Detail: "connection refused"}
				r.Problems = append(r.Problems, store.Problem{Access: r.Access[j].Access, Kind: store.Unreachable, Got: "connection refused"})
			}
		}
	case "saopaulo":
		a := ok("https")
		a.TLSExpiry = testNow.Add(5 * 24 * time.Hour)
		r.Access = []store.AccessResult{a}
		r.Problems = []store.Problem{{Access: "https", Kind: store.TLS, Expected: "valid for 336h0m0s",
			Got: "expires " + a.TLSExpiry.Format(time.RFC3339)}}
	}
	return r
}

// objects returns the object states a mirror's latest result records.
func objects(name string) []store.ObjectState {
	var out []store.ObjectState
	for i, p := range []string{"pool/a.txt", "pool/b.txt", isoPath} {
		o := store.ObjectState{Access: "https", Path: p, Record: int64(i), SHA256: sum(testFiles[p]),
			Size: int64(len(testFiles[p])), SizeChecked: passAt(3), HashChecked: passAt(2), OK: true}
		switch {
		case name == "lyon" && p == isoPath:
			o.OK, o.HashChecked = false, passAt(3)
		case name == "ohio" && p == isoPath:
			continue
		case name == "ohio":
			o.Access = "http"
		}
		out = append(out, o)
	}
	return out
}

// fillStore records four passes over the mirrors that were checked.
func fillStore(t *testing.T, st store.Store) {
	t.Helper()
	ctx := t.Context()
	for i := range 4 {
		pass, err := st.BeginPass(ctx, passAt(i).Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"berlin", "lyon", "ohio", "osaka", "saopaulo"} {
			r := result(name, i)
			if i == 3 && (name == "berlin" || name == "lyon" || name == "ohio") {
				r.Objects, r.AllObjects = objects(name), true
			}
			if err := st.RecordMirror(ctx, pass, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.FinishPass(ctx, pass, passAt(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// newWorld returns the hub of the test network.
func newWorld(t *testing.T) *testSource {
	t.Helper()
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	fillStore(t, st)
	return &testSource{
		cfg: testConfig(), origin: testOrigin(t), st: st,
		redirects: map[string]int64{"berlin": 700, "lyon": 0, "ohio": 200, "osaka": 0, "saopaulo": 100, "oslo": 0, "nairobi": 0},
		downloads: fakeDownloads,
	}
}

// fakeDownloads returns a daily count that rises and falls.
func fakeDownloads(q DownloadQuery) ([]DayCount, error) {
	var out []DayCount
	for d, i := q.From, 0; !d.After(q.To) && i < 1000; d, i = d.Add(24*time.Hour), i+1 {
		n := int64(40 + 25*(i%4))
		if q.Path != "" {
			n /= 4
		}
		out = append(out, DayCount{Day: d, Count: n})
	}
	return out, nil
}

func failingDownloads(DownloadQuery) ([]DayCount, error) {
	return nil, errors.New("stats database is gone")
}

func testOptions() Options {
	return Options{Now: func() time.Time { return testNow }}
}

// get requests path from the handler and returns the status and body.
func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

// mustContain fails the test for each want not in body.
func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: no %q in\n%s", what, w, excerpt(body))
		}
	}
}

func mustNotContain(t *testing.T, what, body string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(body, b) {
			t.Errorf("%s: unexpected %q", what, b)
		}
	}
}

// excerpt shortens a page for an error message: the main element.
func excerpt(body string) string {
	if i := strings.Index(body, `<main`); i >= 0 {
		body = body[i:]
	}
	if len(body) > 4000 {
		body = body[:4000] + "…"
	}
	return body
}
