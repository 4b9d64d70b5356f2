// Package availtest builds the inputs of availability.Compile for tests and
// benchmarks: an origin's verified log over given files, a registry, and
// checker results saying which mirror holds what.
package availtest

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"time"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/store"
)

// A World is an origin and its mirrors as the checker saw them.
type World struct {
	Log     *logdir.Log
	Mirrors []config.Mirror
	Latest  []store.MirrorResult
	Objects map[string][]store.ObjectState // by mirror name
}

// New returns a world whose origin publishes files (path -> contents), one
// record per file in path order, and has no mirrors yet.
func New(origin string, files map[string][]byte) (*World, error) {
	w := &World{Log: logdir.Empty(origin), Objects: map[string][]store.ObjectState{}}
	if err := w.Publish(files); err != nil {
		return nil, err
	}
	return w, nil
}

// Publish appends a record for each of files (path -> contents, nil to
// remove the path) to the origin's log, in path order.
func (w *World) Publish(files map[string][]byte) error {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	lines := make([][]byte, 0, len(paths))
	for _, p := range paths {
		r := journal.Record{Kind: journal.File, Time: 1700000000, Path: p, Size: int64(len(files[p])),
			MTime: 1700000000, SHA256: sha256.Sum256(files[p])}
		if files[p] == nil {
			r = journal.Record{Kind: journal.Remove, Time: 1700000000, Path: p}
		}
		line, err := journal.AppendLine(nil, &r)
		if err != nil {
			return err
		}
		lines = append(lines, line[:len(line)-1])
	}
	next, _, err := w.Log.Extend(lines)
	if err != nil {
		return fmt.Errorf("availtest: %w", err)
	}
	w.Log = next
	return nil
}

// Link appends a symlink record, path -> target, to the origin's log.
func (w *World) Link(path, target string) error {
	r := journal.Record{Kind: journal.Symlink, Time: 1700000000, Path: path, MTime: 1700000000, Target: target}
	line, err := journal.AppendLine(nil, &r)
	if err != nil {
		return err
	}
	next, _, err := w.Log.Extend([][]byte{line[:len(line)-1]})
	if err != nil {
		return fmt.Errorf("availtest: %w", err)
	}
	w.Log = next
	return nil
}

// AddMirror adds m to the registry with a clean latest result in which
// every access point was reachable.
func (w *World) AddMirror(m config.Mirror) {
	w.Mirrors = append(w.Mirrors, m)
	res := store.MirrorResult{Mirror: m.Name, Checked: time.Unix(1700000000, 0)}
	for _, a := range m.Access() {
		res.Access = append(res.Access, store.AccessResult{Access: string(a.Kind), URL: a.URL, Reachable: true, OK: true, Complete: 1})
	}
	w.Latest = append(w.Latest, res)
}

// Result returns the latest result of the mirror called name, for a test to
// change, or nil.
func (w *World) Result(name string) *store.MirrorResult {
	for i := range w.Latest {
		if w.Latest[i].Mirror == name {
			return &w.Latest[i]
		}
	}
	return nil
}

// Hold records that the mirror's access point of kind holds paths at the
// origin's current version. With no paths it holds every live file.
func (w *World) Hold(mirror string, kind config.AccessKind, paths ...string) {
	if len(paths) == 0 {
		paths = w.Log.State.Paths()
	}
	for _, p := range paths {
		e, ok := w.Log.State.Lookup(p)
		if !ok {
			continue
		}
		w.Objects[mirror] = append(w.Objects[mirror], State(mirror, kind, e))
	}
}

// State returns the OK state of entry e at a mirror's access point.
func State(mirror string, kind config.AccessKind, e *journal.Entry) store.ObjectState {
	return store.ObjectState{
		Mirror: mirror, Access: string(kind), Path: e.Path, Record: e.Index,
		SHA256: fmt.Sprintf("%x", e.SHA256), Size: e.Size, OK: true,
		SizeChecked: time.Unix(1700000000, 0), HashChecked: time.Unix(1700000000, 0),
	}
}

// Map compiles the world's availability map, created at 1700000100.
func (w *World) Map() *availability.Map {
	return availability.Compile(w.Log, w.Mirrors, w.Latest, w.Objects, time.Unix(1700000100, 0))
}
