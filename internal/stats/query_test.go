package stats

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/store"
)

func hubRow(day, path, mirror, country string, n int64) store.StatRow {
	return store.StatRow{StatCount: store.StatCount{Day: day, Path: path, Mirror: mirror, Country: country, Downloads: n}, Source: store.StatsFromHub}
}

func mirrorRow(day, path, mirror string, n int64) store.StatRow {
	return store.StatRow{StatCount: store.StatCount{Day: day, Path: path, Mirror: mirror, Downloads: n}, Source: store.StatsFromMirror}
}

// TestStatsCountedRule: a mirror's report replaces the hub's count of
// redirects to it, day by day; redirects to mirrors that did not report
// that day, and to the fallback host, count.
func TestStatsCountedRule(t *testing.T) {
	const d1, d2 = "2026-11-22", "2026-11-23"
	res := store.StatsResult{
		Rows: []store.StatRow{
			hubRow(d1, "a.iso", "", "DE", 2),    // fallback host: counts
			hubRow(d1, "a.iso", "fau", "DE", 5), // fau reported d1: its log has these
			mirrorRow(d1, "a.iso", "fau", 9),    // 5 redirected + 4 direct
			hubRow(d1, "a.iso", "kit", "FR", 3), // kit never reports: counts
			hubRow(d2, "a.iso", "fau", "DE", 1), // fau did not report d2 (yet): counts
			hubRow(d2, "b.iso", "fau", "DE", 7), // fau reported d2 for another object only...
			mirrorRow(d2, "b.iso", "other", 1),  // (another mirror's report changes nothing for fau)
			hubRow(d2, "c.iso", "kit", "", 1),   // kit did not report d2
			mirrorRow(d1, "c.iso", "kit", 2),    // but did report d1 for c.iso
			hubRow(d1, "c.iso", "kit", "FR", 8), // so its d1 redirects are in that report
		},
		Reported: []store.MirrorDay{{Mirror: "fau", Day: d1}, {Mirror: "kit", Day: d1}, {Mirror: "other", Day: d2}},
	}
	got := Counted(res)
	want := []store.StatRow{res.Rows[0], res.Rows[2], res.Rows[4], res.Rows[5], res.Rows[6], res.Rows[7], res.Rows[8]}
	if len(got) != len(want) {
		t.Fatalf("counted %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func queryServer(t *testing.T, st store.Store) *httptest.Server {
	mux := http.NewServeMux()
	now := func() time.Time { return testNow }
	mux.Handle("/api/v1/stats", QueryHandler(st, now))
	mux.Handle("/stats.csv", CSVHandler(st, now))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(data)
}

func seedStats(t *testing.T) store.Store {
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	add := func(b store.StatBatch) {
		if _, err := st.AddStats(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	add(store.StatBatch{Source: store.StatsFromMirror, Reporter: "fau", ID: "1", Received: testNow, Counts: []store.StatCount{
		{Day: "2026-11-22", Path: "a.iso", Downloads: 9}, {Day: "2026-11-23", Path: "a.iso", Downloads: 1}}})
	add(store.StatBatch{Source: store.StatsFromHub, Reporter: "hub", ID: "2", Received: testNow, Counts: []store.StatCount{
		{Day: "2026-11-22", Path: "a.iso", Mirror: "fau", Country: "DE", Downloads: 5},
		{Day: "2026-11-22", Path: "a.iso", Mirror: "kit", Country: "FR", Downloads: 3},
		{Day: "2026-11-22", Path: "b,\"x\".iso", Country: "DE", Downloads: 2},
		{Day: "2026-10-01", Path: "a.iso", Mirror: "kit", Downloads: 100}}})
	return st
}

func TestStatsQueryJSON(t *testing.T) {
	srv := queryServer(t, seedStats(t))
	code, ctype, body := get(t, srv.URL+"/api/v1/stats?path=/a.iso&from=2026-11-22")
	want := `{"from":"2026-11-22","to":"2026-11-23","path":"a.iso","total":13,"by_source":{"hub":3,"mirror":10},"days":[` +
		`{"day":"2026-11-22","path":"a.iso","downloads":12,"by_source":{"hub":3,"mirror":9},"by_mirror":{"fau":9,"kit":3},"redirects":8},` +
		`{"day":"2026-11-23","path":"a.iso","downloads":1,"by_source":{"mirror":1},"by_mirror":{"fau":1},"redirects":0}]}` + "\n"
	if code != 200 || ctype != "application/json; charset=utf-8" || body != want {
		t.Errorf("got %d %s\n%s\nwant\n%s", code, ctype, body, want)
	}
	// The default range is the 30 days up to today: 2026-10-01 is out.
	if _, _, body := get(t, srv.URL+"/api/v1/stats"); !strings.Contains(body, `"from":"2026-10-25","to":"2026-11-23","total":15,`) {
		t.Errorf("default range: %s", body)
	}
	if _, _, body := get(t, srv.URL+"/api/v1/stats?from=2026-10-01&to=2026-10-01"); !strings.Contains(body, `"total":100,`) {
		t.Errorf("October: %s", body)
	}
}

func TestStatsQueryCSV(t *testing.T) {
	srv := queryServer(t, seedStats(t))
	code, ctype, body := get(t, srv.URL+"/stats.csv?from=2026-11-22&to=2026-11-23")
	want := "day,path,mirror,country,source,downloads\n" +
		"2026-11-22,a.iso,fau,,mirror,9\n" +
		"2026-11-22,a.iso,kit,FR,hub,3\n" +
		"2026-11-22,\"b,\"\"x\"\".iso\",,DE,hub,2\n" +
		"2026-11-23,a.iso,fau,,mirror,1\n"
	if code != 200 || ctype != "text/csv; charset=utf-8" || body != want {
		t.Errorf("got %d %s\n%s\nwant\n%s", code, ctype, body, want)
	}
}

func TestStatsQueryErrors(t *testing.T) {
	srv := queryServer(t, seedStats(t))
	for q, want := range map[string]string{
		"from=2026-11-30":               `from: 2026-11-30 is after to (2026-11-23)`,
		"from=yesterday":                `from: day \"yesterday\": want YYYY-MM-DD`,
		"to=2026-13-01":                 `to: day \"2026-13-01\": want YYYY-MM-DD`,
		"from=1999-01-01":               `from: 1999-01-01 is before 2000-01-01`,
		"from=2024-01-01&to=2026-01-01": `from, to: 732 days; at most 366`,
		"path=../x":                     `path: path \"../x\": \"..\" segment`,
		"path=a&path=b":                 `path: given 2 times`,
		"day=2026-11-23":                `unknown parameter \"day\": want path, from or to`,
	} {
		for _, endpoint := range []string{"/api/v1/stats?", "/stats.csv?"} {
			code, _, body := get(t, srv.URL+endpoint+q)
			if code != 400 || body != `{"error":"`+want+`"}`+"\n" {
				t.Errorf("%s%s: %d %s, want 400 %s", endpoint, q, code, body, want)
			}
		}
	}
	resp, err := http.Post(srv.URL+"/api/v1/stats", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST to the query: %d", resp.StatusCode)
	}
}

// failingStore fails AddStats after (or instead of) storing, as a store
// whose commit succeeded but whose answer was lost would.
type failingStore struct {
	store.Store
	mu       sync.Mutex
	failures int
	store    bool // store the batch before failing
	ids      []string
}

func (f *failingStore) AddStats(ctx context.Context, b store.StatBatch) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, b.ID)
	if f.failures > 0 {
		f.failures--
		if f.store {
			f.Store.AddStats(ctx, b)
		}
		return false, errors.New("disk I/O error")
	}
	return f.Store.AddStats(ctx, b)
}

func TestStatsCounter(t *testing.T) {
	mem := store.NewMemory()
	defer mem.Close()
	st := &failingStore{Store: mem, failures: 1, store: true}
	now := testNow
	c := NewCounter(st, "", func() time.Time { return now })
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Count("a.iso", "fau", "DE")
				c.Count("b.iso", "", "")
			}
		}()
	}
	wg.Wait()
	c.Count("../bad", "fau", "DE") // a path no object has: dropped, not stored
	if err := c.Flush(context.Background()); err == nil {
		t.Fatal("Flush into a failing store succeeded")
	}
	now = now.Add(24 * time.Hour)
	c.Count("a.iso", "fau", "DE")
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(st.ids) != 3 || st.ids[0] != st.ids[1] || st.ids[1] == st.ids[2] {
		t.Errorf("batch IDs %v: want the failed one again, then a new one", st.ids)
	}
	res, err := mem.QueryStats(context.Background(), store.StatsQuery{From: "2026-11-23", To: "2026-11-24"})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.StatRow{hubRow("2026-11-23", "a.iso", "fau", "DE", 800), hubRow("2026-11-23", "b.iso", "", "", 800),
		hubRow("2026-11-24", "a.iso", "fau", "DE", 1)}
	if len(res.Rows) != 3 || res.Rows[0] != want[0] || res.Rows[1] != want[1] || res.Rows[2] != want[2] {
		t.Errorf("stored %+v\nwant %+v", res.Rows, want)
	}
	if c.Dropped() != 1 {
		t.Errorf("dropped %d, want 1", c.Dropped())
	}
}

// TestStatsCounterRun: Run flushes on its interval and once more when
// stopped.
func TestStatsCounterRun(t *testing.T) {
	mem := store.NewMemory()
	defer mem.Close()
	c := NewCounter(mem, "hub-1", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx, 10*time.Millisecond, func(err error) { t.Error(err) }); close(done) }()
	c.Count("a.iso", "fau", "")
	total := func() int64 {
		res, _ := mem.QueryStats(context.Background(), store.StatsQuery{From: "2000-01-01", To: "2100-01-01"})
		var n int64
		for _, r := range res.Rows {
			n += r.Downloads
		}
		return n
	}
	for deadline := time.Now().Add(5 * time.Second); total() != 1 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	c.Count("a.iso", "fau", "")
	cancel()
	<-done
	if n := total(); n != 2 {
		t.Errorf("%d downloads stored after Run stopped, want 2", n)
	}
}
