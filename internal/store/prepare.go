package store

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Limits on what a store accepts.
const (
	maxNameLen = 255  // bytes in a mirror name or access kind
	maxKeyLen  = 255  // bytes in a meta key
	maxTextLen = 4096 // bytes in a path, URL, detail, expected or got
)

// normTime returns t as the store keeps it: UTC, whole microseconds.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// prepare validates a result and returns the copy a store keeps: times
// normalized, duplicates removed (the last wins), entries sorted.
func prepare(pass PassID, r MirrorResult) (MirrorResult, error) {
	if pass <= 0 {
		return r, fmt.Errorf("record mirror %q in pass %d: %w", r.Mirror, pass, ErrNotFound)
	}
	if r.Mirror == "" || len(r.Mirror) > maxNameLen {
		return r, fmt.Errorf("mirror name %q: must be 1 to %d bytes", r.Mirror, maxNameLen)
	}
	if r.Checked.IsZero() {
		return r, fmt.Errorf("mirror %q: checked time missing", r.Mirror)
	}
	out := MirrorResult{Pass: pass, Mirror: r.Mirror, Checked: normTime(r.Checked), AllObjects: r.AllObjects}
	var err error
	if out.Access, err = prepareAccess(r.Access); err != nil {
		return r, fmt.Errorf("mirror %q: %w", r.Mirror, err)
	}
	if out.Problems, err = prepareProblems(r.Mirror, r.Problems); err != nil {
		return r, fmt.Errorf("mirror %q: %w", r.Mirror, err)
	}
	if out.Objects, err = prepareObjects(r.Mirror, r.Objects); err != nil {
		return r, fmt.Errorf("mirror %q: %w", r.Mirror, err)
	}
	return out, nil
}

func prepareAccess(in []AccessResult) ([]AccessResult, error) {
	byKind := map[string]AccessResult{}
	for _, a := range in {
		switch {
		case a.Access == "" || len(a.Access) > maxNameLen:
			return nil, fmt.Errorf("access kind %q: must be 1 to %d bytes", a.Access, maxNameLen)
		case len(a.URL) > maxTextLen || len(a.Detail) > maxTextLen:
			return nil, fmt.Errorf("access %s: URL or detail longer than %d bytes", a.Access, maxTextLen)
		case math.IsNaN(a.Complete) || a.Complete < 0 || a.Complete > 1:
			return nil, fmt.Errorf("access %s: complete %v: must be between 0 and 1", a.Access, a.Complete)
		case a.Lag < 0:
			return nil, fmt.Errorf("access %s: negative lag %v", a.Access, a.Lag)
		case a.Records != nil && *a.Records < 0:
			return nil, fmt.Errorf("access %s: negative record count %d", a.Access, *a.Records)
		}
		a.TLSExpiry = normTime(a.TLSExpiry)
		a.Lag = a.Lag.Truncate(time.Second)
		if a.Records != nil {
			n := *a.Records
			a.Records = &n
		}
		byKind[a.Access] = a
	}
	var out []AccessResult
	for _, a := range byKind {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Access < out[j].Access })
	return out, nil
}

type problemKey struct {
	access string
	kind   ProblemKind
	path   string
}

func (p *Problem) key() problemKey { return problemKey{p.Access, p.Kind, p.Path} }

func prepareProblems(mirror string, in []Problem) ([]Problem, error) {
	byKey := map[problemKey]Problem{}
	for _, p := range in {
		if !p.Kind.Valid() {
			return nil, fmt.Errorf("problem kind %q unknown", p.Kind)
		}
		if len(p.Access) > maxNameLen || len(p.Path) > maxTextLen || len(p.Expected) > maxTextLen || len(p.Got) > maxTextLen {
			return nil, fmt.Errorf("problem %s %q: a field is too long", p.Kind, p.Path)
		}
		byKey[p.key()] = Problem{Mirror: mirror, Access: p.Access, Kind: p.Kind, Path: p.Path, Expected: p.Expected, Got: p.Got}
	}
	var out []Problem
	for _, p := range byKey {
		out = append(out, p)
	}
	sortProblems(out)
	return out, nil
}

func sortProblems(ps []Problem) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Mirror != b.Mirror {
			return a.Mirror < b.Mirror
		}
		if a.Access != b.Access {
			return a.Access < b.Access
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Path < b.Path
	})
}

type objectKey struct{ access, path string }

func prepareObjects(mirror string, in []ObjectState) ([]ObjectState, error) {
	byKey := map[objectKey]ObjectState{}
	for _, o := range in {
		switch {
		case o.Access == "" || len(o.Access) > maxNameLen:
			return nil, fmt.Errorf("object %q: access kind %q: must be 1 to %d bytes", o.Path, o.Access, maxNameLen)
		case o.Path == "" || len(o.Path) > maxTextLen || len(o.SHA256) > maxTextLen:
			return nil, fmt.Errorf("object %.64q: path must be 1 to %d bytes", o.Path, maxTextLen)
		case o.Record < 0 || o.Size < 0:
			return nil, fmt.Errorf("object %q: negative record index or size", o.Path)
		}
		o.Mirror = mirror
		o.SizeChecked = normTime(o.SizeChecked)
		o.HashChecked = normTime(o.HashChecked)
		byKey[objectKey{o.Access, o.Path}] = o
	}
	var out []ObjectState
	for _, o := range byKey {
		out = append(out, o)
	}
	sortObjects(out)
	return out, nil
}

// sortObjects orders states by mirror, access and path.
func sortObjects(os []ObjectState) {
	sort.Slice(os, func(i, j int) bool {
		a, b := os[i], os[j]
		if a.Mirror != b.Mirror {
			return a.Mirror < b.Mirror
		}
		if a.Access != b.Access {
			return a.Access < b.Access
		}
		return a.Path < b.Path
	})
}

func checkMetaKey(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("meta key %.64q: must be 1 to %d bytes", key, maxKeyLen)
	}
	return nil
}

// errClosed is returned by a closed store.
var errClosed = errors.New("store is closed")

// Bounds of a lease's name and holder.
const maxLeaseText = 256

// checkLease refuses a lease without a name or holder, or one that ends
// before it begins.
func checkLease(name, holder string, now, until time.Time) error {
	switch {
	case name == "" || len(name) > maxLeaseText:
		return fmt.Errorf("lease: name %q: want 1 to %d bytes", name, maxLeaseText)
	case holder == "" || len(holder) > maxLeaseText:
		return fmt.Errorf("lease %q: holder %q: want 1 to %d bytes", name, holder, maxLeaseText)
	case now.IsZero() || !until.After(now):
		return fmt.Errorf("lease %q: until %v is not after now %v", name, until, now)
	}
	return nil
}
