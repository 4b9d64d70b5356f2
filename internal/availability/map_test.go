package availability_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/availability/availtest"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/store"
)

// testWorld is an origin with three files, the first of them replaced
// once, and mirrors in every state the compiler distinguishes.
func testWorld(t testing.TB) *availtest.World {
	t.Helper()
	w, err := availtest.New("repo.example.org", map[string][]byte{
		"a.iso": []byte("old a"), "b/c.jar": []byte("c"), "d e.txt": []byte("d"),
	})
	if err != nil {
		t.Fatal(err)
	}
	staleA := w.Log.State
	entryA, _ := staleA.Lookup("a.iso")
	oldA := *entryA
	if err := w.Publish(map[string][]byte{"a.iso": []byte("new a")}); err != nil {
		t.Fatal(err)
	}
	add := func(name, country string, weight int, kinds ...config.AccessKind) {
		m := config.Mirror{Name: name, Country: country, Weight: weight}
		for _, k := range kinds {
			u := string(k) + "://" + name + ".example/pub/"
			switch k {
			case config.AccessHTTP:
				m.HTTP = u
			case config.AccessHTTPS:
				m.HTTPS = u
			case config.AccessFTP:
				m.FTP = u
			case config.AccessRsync:
				m.Rsync = u
			}
		}
		w.AddMirror(m)
	}
	add("good", "DE", 100, config.AccessHTTP, config.AccessHTTPS)
	w.Hold("good", config.AccessHTTP)
	w.Hold("good", config.AccessHTTPS)

	add("stale", "FR", 100, config.AccessHTTPS)
	w.Objects["stale"] = append(w.Objects["stale"], availtest.State("stale", config.AccessHTTPS, &oldA))
	w.Hold("stale", config.AccessHTTPS, "b/c.jar")

	add("wrong", "US", 100, config.AccessHTTPS)
	w.Hold("wrong", config.AccessHTTPS)
	w.Objects["wrong"][0].SHA256 = strings.Repeat("0", 64) // a.iso: other bytes
	w.Objects["wrong"][1].OK = false                       // b/c.jar: failed
	w.Objects["wrong"][2].Size++                           // d e.txt: other size

	add("tampered", "NL", 100, config.AccessHTTPS)
	w.Hold("tampered", config.AccessHTTPS)
	w.Result("tampered").Problems = []store.Problem{
		{Kind: store.Missing, Access: "https", Path: "x"},
		{Kind: store.Hash, Access: "https", Path: "b/c.jar"},
	}

	add("disabled", "DE", 0, config.AccessHTTPS)
	w.Hold("disabled", config.AccessHTTPS)

	add("down", "AT", 100, config.AccessHTTP, config.AccessHTTPS)
	w.Hold("down", config.AccessHTTP)
	w.Hold("down", config.AccessHTTPS)
	w.Result("down").Access[1].Reachable = false

	add("moved", "BE", 100, config.AccessHTTPS)
	w.Hold("moved", config.AccessHTTPS)
	w.Result("moved").Access[0].URL = "https://old.example/pub/"

	add("new", "JP", 100, config.AccessHTTPS)
	w.Latest = w.Latest[:len(w.Latest)-1] // never checked

	add("partial", "", 100, config.AccessFTP, config.AccessRsync)
	w.Hold("partial", config.AccessFTP, "b/c.jar")
	w.Hold("partial", config.AccessRsync)

	w.Objects["gone"] = w.Objects["good"] // states of a mirror no longer registered
	return w
}

// holdings lists "mirror/kind:path" for every holding in m.
func holdings(m *availability.Map) []string {
	var out []string
	m.Objects(func(o availability.Object) bool {
		for _, mi := range m.Mirrors() {
			for _, a := range mi.Access {
				if o.Holds(a.Slot) {
					out = append(out, fmt.Sprintf("%s/%s:%s", mi.Name, a.Kind, o.Path))
				}
			}
		}
		return true
	})
	return out
}

func TestCompileHoldings(t *testing.T) {
	m := testWorld(t).Map()
	want := []string{
		"good/http:a.iso", "good/https:a.iso", "tampered/https:a.iso", "disabled/https:a.iso", "down/http:a.iso", "down/https:a.iso",
		"good/http:b/c.jar", "good/https:b/c.jar", "stale/https:b/c.jar", "tampered/https:b/c.jar", "disabled/https:b/c.jar",
		"down/http:b/c.jar", "down/https:b/c.jar", "partial/ftp:b/c.jar",
		"good/http:d e.txt", "good/https:d e.txt", "tampered/https:d e.txt", "disabled/https:d e.txt", "down/http:d e.txt", "down/https:d e.txt",
	}
	if got := holdings(m); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("holdings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if m.Len() != 3 || m.Records() != 4 || m.Origin() != "repo.example.org" || m.Slots() != 11 {
		t.Errorf("map = %v; slots %d", m, m.Slots())
	}
	if got := m.Created().Unix(); got != 1700000100 {
		t.Errorf("Created = %d", got)
	}
}

func TestCompileMirrors(t *testing.T) {
	m := testWorld(t).Map()
	type health struct {
		checked, trusted, healthy bool
		problem                   string
		reachable                 string
	}
	want := map[string]health{
		"good":     {true, true, true, "", "http https"},
		"stale":    {true, true, true, "", "https"},
		"wrong":    {true, true, true, "", "https"},
		"tampered": {true, false, false, "hash problem over https at b/c.jar", "https"},
		"disabled": {true, true, false, "", "https"},
		"down":     {true, true, true, "", "http"},
		"moved":    {true, true, false, "", ""},
		"new":      {false, false, false, "not checked yet", ""},
		"partial":  {true, true, true, "", "ftp"},
	}
	for _, mi := range m.Mirrors() {
		var r []string
		for _, a := range mi.Access {
			if a.Reachable {
				r = append(r, string(a.Kind))
			}
		}
		got := health{mi.Checked, mi.Trusted, mi.Healthy(), mi.Problem, strings.Join(r, " ")}
		if got != want[mi.Name] {
			t.Errorf("%s: %+v, want %+v", mi.Name, got, want[mi.Name])
		}
	}
	var names []string
	for _, mi := range m.HealthyMirrors() {
		names = append(names, mi.Name)
	}
	if got := strings.Join(names, " "); got != "good stale wrong down partial" {
		t.Errorf("HealthyMirrors = %s", got)
	}
}

func TestCompilePlaces(t *testing.T) {
	w, err := availtest.New("o", map[string][]byte{"f": []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	w.AddMirror(config.Mirror{Name: "de", HTTP: "http://de/", Country: "DE", Weight: 1})
	w.AddMirror(config.Mirror{Name: "given", HTTP: "http://g/", Country: "RU", Continent: "AS",
		HasCoords: true, Latitude: 55, Longitude: 82.9, ASN: 64500, Weight: 1})
	w.AddMirror(config.Mirror{Name: "nowhere", HTTP: "http://n/", Weight: 1})
	ms := w.Map().Mirrors()
	type place struct {
		cont     string
		has      bool
		lat, lon float64
		asn      uint32
	}
	for i, want := range []place{{"EU", true, 51, 10, 0}, {"AS", true, 55, 82.9, 64500}, {"", false, 0, 0, 0}} {
		mi := ms[i]
		if got := (place{mi.Continent, mi.HasCoords, mi.Lat, mi.Lon, mi.ASN}); got != want {
			t.Errorf("%s: %+v, want %+v", mi.Name, got, want)
		}
	}
}

func TestLookup(t *testing.T) {
	w := testWorld(t)
	if err := w.Publish(map[string][]byte{}); err != nil {
		t.Fatal(err)
	}
	link := journal.Record{Kind: journal.Symlink, Time: 1, Path: "latest.iso", MTime: 1, Target: "a.iso"}
	line, _ := journal.AppendLine(nil, &link)
	next, _, err := w.Log.Extend([][]byte{line[:len(line)-1]})
	if err != nil {
		t.Fatal(err)
	}
	w.Log = next
	m := w.Map()
	o, ok := m.Lookup("d e.txt")
	e, _ := w.Log.State.Lookup("d e.txt")
	if !ok || o.Path != "d e.txt" || o.Size != 1 || o.Record != e.Index || o.SHA256 != e.SHA256 {
		t.Errorf("Lookup(d e.txt) = %+v, %v", o, ok)
	}
	for _, p := range []string{"", "b", "b/", "a.is", "a.iso/x", "latest.iso", "zzz"} {
		if _, ok := m.Lookup(p); ok {
			t.Errorf("Lookup(%q) found an object", p)
		}
	}
	if o.Holds(-1) || o.Holds(m.Slots()) || o.Holds(1<<20) {
		t.Errorf("Holds out of range reports true")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := m.Lookup("b/c.jar"); !ok {
			t.Fatal("b/c.jar not found")
		}
	})
	if allocs != 0 {
		t.Errorf("Lookup allocates %v times", allocs)
	}
}

func TestHolders(t *testing.T) {
	m := testWorld(t).Map()
	got := m.Holders()
	// slots: good http, good https, stale, wrong, tampered, disabled, down http, down https, moved, new, partial ftp
	want := []int{3, 3, 1, 0, 3, 3, 3, 3, 0, 0, 1}
	if fmt.Sprint(got[:len(want)]) != fmt.Sprint(want) {
		t.Errorf("Holders = %v, want %v", got, want)
	}
}

// TestCompileFrom: a map compiled from states read out of a real SQLite
// store, one mirror at a time, holds what one compiled from the same states
// in memory holds; mirrors with no result are not read; a failing read
// fails the compile, naming its cause.
func TestCompileFrom(t *testing.T) {
	ctx := context.Background()
	w := testWorld(t)
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pass, err := st.BeginPass(ctx, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	for name, states := range w.Objects {
		r := store.MirrorResult{Mirror: name, Checked: time.Unix(1700000000, 0), AllObjects: true, Objects: states}
		if res := w.Result(name); res != nil {
			r.Access = res.Access
		}
		if err := st.RecordMirror(ctx, pass, r); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	read := map[string]bool{}
	reader := func(ctx context.Context, mirror string, fn func(store.ObjectState) error) error {
		mu.Lock()
		read[mirror] = true
		mu.Unlock()
		return st.EachObject(ctx, mirror, fn)
	}
	m, err := availability.CompileFrom(ctx, w.Log, w.Mirrors, w.Latest, reader, time.Unix(1700000100, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(holdings(m), "\n"), strings.Join(holdings(w.Map()), "\n"); got != want {
		t.Errorf("holdings from the store:\n%s\nfrom memory:\n%s", got, want)
	}
	if read["new"] || read["gone"] || !read["good"] || !read["partial"] {
		t.Errorf("read the states of %v; want every checked registry mirror's, not new's (never checked) or gone's (not registered)", read)
	}

	broken := errors.New("disk on fire")
	_, err = availability.CompileFrom(ctx, w.Log, w.Mirrors, w.Latest, func(ctx context.Context, mirror string, fn func(store.ObjectState) error) error {
		if mirror == "down" {
			return fmt.Errorf("objects of mirror %q: %w", mirror, broken)
		}
		return st.EachObject(ctx, mirror, fn)
	}, time.Unix(1700000100, 0))
	if !errors.Is(err, broken) || !strings.Contains(err.Error(), `"down"`) {
		t.Errorf("compile over a failing read: %v", err)
	}
}
