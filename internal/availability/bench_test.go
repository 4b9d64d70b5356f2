package availability_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/availability/availtest"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/store"
)

// bigWorld is n objects held by mirrors mirrors over https, and over http
// too for every other mirror, with state strings allocated apart from the
// log's and shared by the states of one object, as a store returns them.
func bigWorld(b *testing.B, n, mirrors int) *availtest.World {
	files := make(map[string][]byte, n)
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("pool/main/p/pkg%06d/pkg%06d_1.%d-1_amd64.deb", i, i, i%7)
		files[p] = []byte(p)
	}
	w, err := availtest.New("repo.example.org", files)
	if err != nil {
		b.Fatal(err)
	}
	paths := w.Log.State.Paths()
	strs := make([][2]string, len(paths)) // path and hash, as the store interns them
	for i, p := range paths {
		e, _ := w.Log.State.Lookup(p)
		strs[i] = [2]string{string([]byte(p)), hex.EncodeToString(e.SHA256[:])}
	}
	for i := 0; i < mirrors; i++ {
		m := config.Mirror{Name: fmt.Sprintf("m%02d", i), HTTPS: fmt.Sprintf("https://m%02d/", i), Weight: 100}
		if i%2 == 0 {
			m.HTTP = fmt.Sprintf("http://m%02d/", i)
		}
		w.AddMirror(m)
		for _, a := range m.Access() {
			for k, p := range paths {
				e, _ := w.Log.State.Lookup(p)
				w.Objects[m.Name] = append(w.Objects[m.Name], store.ObjectState{
					Mirror: m.Name, Access: string(a.Kind), Path: strs[k][0], Record: e.Index,
					SHA256: strs[k][1], Size: e.Size, OK: true,
				})
			}
		}
	}
	return w
}

func BenchmarkCompile(b *testing.B) {
	w := bigWorld(b, 75000, 60)
	b.ResetTimer()
	for b.Loop() {
		availability.Compile(w.Log, w.Mirrors, w.Latest, w.Objects, time.Now())
	}
}

func BenchmarkLookup(b *testing.B) {
	w := bigWorld(b, 75000, 1)
	m := w.Map()
	paths := w.Log.State.Paths()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i = (i + 7919) % len(paths)
		if _, ok := m.Lookup(paths[i]); !ok {
			b.Fatal("not found")
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	w := bigWorld(b, 75000, 60)
	s, v := testKeys(b, "hub.example.org")
	data, err := availability.Encode(w.Map(), s)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := availability.Decode(data, v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileFromSQLite compiles the map of 75,000 objects at 10
// mirrors (1.1 million states) out of an SQLite store, as a hub does after
// each pass: "all" reads every mirror's states and then compiles, as the
// hub once did; "each" streams them (CompileFrom). B/op is the difference.
func BenchmarkCompileFromSQLite(b *testing.B) {
	ctx := context.Background()
	w := bigWorld(b, 75000, 10)
	st, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	pass, err := st.BeginPass(ctx, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	for _, res := range w.Latest {
		res.AllObjects, res.Objects = true, w.Objects[res.Mirror]
		if err := st.RecordMirror(ctx, pass, res); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			objects := map[string][]store.ObjectState{}
			for _, m := range w.Mirrors {
				if objects[m.Name], err = st.Objects(ctx, m.Name); err != nil {
					b.Fatal(err)
				}
			}
			availability.Compile(w.Log, w.Mirrors, w.Latest, objects, time.Now())
		}
	})
	b.Run("each", func(b *testing.B) {
		for b.Loop() {
			if _, err := availability.CompileFrom(ctx, w.Log, w.Mirrors, w.Latest, st.EachObject, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
