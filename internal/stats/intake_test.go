package stats

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/store"
)

var testTokens = map[string]string{"fau": "tok-fau", "kit": "tok-kit", "quiet": ""}

func lookupToken(m string) (string, bool) {
	tok, ok := testTokens[m]
	return tok, ok
}

// intakeServer runs the intake on 127.0.0.1 over a real SQLite file.
func intakeServer(t *testing.T) (*httptest.Server, store.Store) {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(IntakeHandler(st, lookupToken, func() time.Time { return testNow }))
	t.Cleanup(srv.Close)
	return srv, st
}

func post(t *testing.T, url, token, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(data))
}

func rowCount(t *testing.T, st store.Store) int {
	t.Helper()
	res, err := st.QueryStats(context.Background(), store.StatsQuery{From: "2000-01-01", To: "2100-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Rows)
}

const goodBatch = `{"mirror": "fau", "batch_id": "b-1", "counts": [
	{"day": "2026-11-23", "path": "pool/a.jar", "downloads": 12},
	{"day": "2026-11-22", "path": "iso/t.iso", "country": "DE", "downloads": 3}]}`

func TestStatsIntakeCountsOnce(t *testing.T) {
	srv, st := intakeServer(t)
	code, body := post(t, srv.URL, "tok-fau", "application/json", goodBatch)
	if want := `{"status":"counted","batch_id":"b-1","counts":2,"downloads":15}`; code != 200 || body != want {
		t.Fatalf("first post: %d %s, want 200 %s", code, body, want)
	}
	code, body = post(t, srv.URL, "tok-fau", "application/json; charset=utf-8", goodBatch)
	if want := `{"status":"already counted","batch_id":"b-1"}`; code != 200 || body != want {
		t.Fatalf("replayed post: %d %s, want 200 %s", code, body, want)
	}
	res, err := st.QueryStats(context.Background(), store.StatsQuery{From: "2026-11-22", To: "2026-11-23"})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.StatRow{
		{StatCount: store.StatCount{Day: "2026-11-22", Path: "iso/t.iso", Mirror: "fau", Country: "DE", Downloads: 3}, Source: store.StatsFromMirror},
		{StatCount: store.StatCount{Day: "2026-11-23", Path: "pool/a.jar", Mirror: "fau", Downloads: 12}, Source: store.StatsFromMirror},
	}
	if len(res.Rows) != 2 || res.Rows[0] != want[0] || res.Rows[1] != want[1] {
		t.Errorf("stored %+v, want %+v", res.Rows, want)
	}
}

// TestStatsIntakeRefuses: every refusal names what is wrong, and stores
// nothing.
func TestStatsIntakeRefuses(t *testing.T) {
	srv, st := intakeServer(t)
	batch := func(counts string) string {
		return `{"mirror": "fau", "batch_id": "b-2", "counts": [{"day": "2026-11-23", "path": "ok.iso", "downloads": 1}, ` + counts + `]}`
	}
	for _, tt := range []struct {
		name, token, ctype, body string
		code                     int
		want                     string
	}{
		{"token of another mirror", "tok-kit", "", goodBatch, 403, `the token presented is not mirror \"fau\"'s`},
		{"wrong token", "guess", "", goodBatch, 403, `the token presented is not mirror \"fau\"'s`},
		{"mirror without a token", "", "", strings.Replace(goodBatch, `"fau"`, `"quiet"`, 1), 403,
			`mirror \"quiet\" is not in the hub's registry or has no token`},
		{"unknown mirror", "tok-fau", "", strings.Replace(goodBatch, `"fau"`, `"nobody"`, 1), 403,
			`mirror \"nobody\" is not in the hub's registry or has no token`},
		{"no token", "-", "", goodBatch, 401, `no token: send the mirror's token as \"Authorization: Bearer TOKEN\"`},
		{"not JSON", "", "text/plain", goodBatch, 415, `send the batch as \"Content-Type: application/json\"`},
		{"unknown field", "", "", `{"mirror": "fau", "batch_id": "x", "counts": [], "extra": 1}`, 400,
			`bad batch: json: unknown field \"extra\"`},
		{"unknown field in a count", "", "", batch(`{"day": "2026-11-23", "path": "a", "downloads": 1, "bytes": 5}`), 400,
			`bad batch: json: unknown field \"bytes\"`},
		{"two objects", "", "", goodBatch + goodBatch, 400, `bad batch: data after the batch`},
		{"truncated", "", "", goodBatch[:40], 400, `bad batch: unexpected EOF`},
		{"mirror name", "", "", `{"mirror": "Fau Mirror", "batch_id": "x", "counts": []}`, 400,
			`bad batch: mirror \"Fau Mirror\": want the mirror's name in the registry`},
		{"no batch ID", "", "", `{"mirror": "fau", "counts": []}`, 400,
			`bad batch: batch_id \"\": want 1 to 128 letters, digits and . _ : -`},
		{"traversal", "", "", batch(`{"day": "2026-11-23", "path": "../etc/passwd", "downloads": 1}`), 400,
			`bad batch: counts[1].path: path \"../etc/passwd\": \"..\" segment`},
		{"signed log", "", "", batch(`{"day": "2026-11-23", "path": ".pando/checkpoint", "downloads": 1}`), 400,
			`bad batch: counts[1].path: path \".pando/checkpoint\": inside the reserved .pando directory`},
		{"absolute path", "", "", batch(`{"day": "2026-11-23", "path": "/a.iso", "downloads": 1}`), 400,
			`bad batch: counts[1].path: path \"/a.iso\": absolute`},
		{"bad day", "", "", batch(`{"day": "23/11/2026", "path": "a", "downloads": 1}`), 400,
			`bad batch: counts[1].day: day \"23/11/2026\": want YYYY-MM-DD`},
		{"future day", "", "", batch(`{"day": "2026-11-25", "path": "a", "downloads": 1}`), 400,
			`bad batch: counts[1].day: 2026-11-25 is not between 2000-01-01 and 2026-11-24`},
		{"ancient day", "", "", batch(`{"day": "1999-12-31", "path": "a", "downloads": 1}`), 400,
			`bad batch: counts[1].day: 1999-12-31 is not between 2000-01-01 and 2026-11-24`},
		{"no downloads", "", "", batch(`{"day": "2026-11-23", "path": "a", "downloads": 0}`), 400,
			`bad batch: counts[1].downloads: 0: want 1 to 1099511627776`},
		{"fractional downloads", "", "", batch(`{"day": "2026-11-23", "path": "a", "downloads": 1.5}`), 400,
			`bad batch: json: cannot unmarshal number 1.5 into Go struct field Count.counts.downloads of type int64`},
		{"country", "", "", batch(`{"day": "2026-11-23", "path": "a", "country": "de", "downloads": 1}`), 400,
			`bad batch: counts[1].country: \"de\": want two capital letters (ISO 3166-1 alpha-2) or nothing`},
		{"same count twice", "", "", batch(`{"day": "2026-11-23", "path": "ok.iso", "downloads": 4}`), 400,
			`bad batch: counts[1]: same day, path and country as counts[0]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			token, ctype := tt.token, tt.ctype
			switch token {
			case "":
				token = "tok-fau"
			case "-":
				token = ""
			}
			if ctype == "" {
				ctype = "application/json"
			}
			code, body := post(t, srv.URL, token, ctype, tt.body)
			if want := `{"error":"` + tt.want + `"}`; code != tt.code || body != want {
				t.Errorf("got %d %s\nwant %d %s", code, body, tt.code, want)
			}
		})
	}
	if n := rowCount(t, st); n != 0 {
		t.Errorf("refused batches stored %d rows", n)
	}
	// A refused batch's ID was not taken.
	if code, body := post(t, srv.URL, "tok-fau", "application/json", batch(`{"day": "2026-11-23", "path": "b.iso", "downloads": 1}`)); code != 200 ||
		!strings.Contains(body, `"counted"`) {
		t.Errorf("a good batch after the refusals: %d %s", code, body)
	}
}

func TestStatsIntakeLimits(t *testing.T) {
	srv, st := intakeServer(t)
	big := `{"mirror": "fau", "batch_id": "big", "counts": [` +
		strings.Repeat(`{"day": "2026-11-23", "path": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.iso", "downloads": 1},`, MaxBatchBytes/80) + `]}`
	code, body := post(t, srv.URL, "tok-fau", "application/json", big)
	if code != 413 || !strings.Contains(body, "batch larger than 8388608 bytes") {
		t.Errorf("a batch over the limit: %d %.200s", code, body)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if n := rowCount(t, st); n != 0 {
		t.Errorf("stored %d rows", n)
	}
}

// TestStatsClient: the Client sends to a real intake, names the hub's
// refusal, and retries only what may pass.
func TestStatsClient(t *testing.T) {
	srv, st := intakeServer(t)
	var b Batch
	if err := json.Unmarshal([]byte(goodBatch), &b); err != nil {
		t.Fatal(err)
	}
	c := &Client{URL: srv.URL, Token: "tok-fau", Backoff: time.Millisecond}
	if dup, err := c.Send(context.Background(), &b); dup || err != nil {
		t.Fatalf("Send: %v, %v", dup, err)
	}
	if dup, err := c.Send(context.Background(), &b); !dup || err != nil {
		t.Fatalf("Send again: %v, %v", dup, err)
	}
	c.Token = "tok-kit"
	_, err := c.Send(context.Background(), &b)
	var he *HubError
	if !errors.As(err, &he) || err.Error() != `hub answered 403 Forbidden: the token presented is not mirror "fau"'s` {
		t.Errorf("Send with another mirror's token: %v", err)
	}
	if n := rowCount(t, st); n != 2 {
		t.Errorf("%d rows stored, want 2", n)
	}

	// A hub that fails twice and then takes the batch.
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			writeError(w, http.StatusServiceUnavailable, "busy")
			return
		}
		writeJSON(w, 200, intakeAnswer{Status: statusCounted})
	}))
	defer flaky.Close()
	c = &Client{URL: flaky.URL, Token: "x", Backoff: time.Millisecond}
	if _, err := c.Send(context.Background(), &b); err != nil || calls.Load() != 3 {
		t.Errorf("Send to a flaky hub: %v after %d calls", err, calls.Load())
	}
	calls.Store(-10)
	if _, err := c.Send(context.Background(), &b); err == nil || err.Error() != "hub answered 503 Service Unavailable: busy" || calls.Load() != -7 {
		t.Errorf("Send to a hub that stays down: %v after %d calls", err, calls.Load()+10)
	}
}
