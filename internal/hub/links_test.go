package hub

import (
	"testing"

	"github.com/pando-mirror/pando/internal/journal"
)

func TestResolveLinks(t *testing.T) {
	st := journal.NewState()
	for _, r := range []journal.Record{
		{Kind: journal.File, Path: "releases/1.0/x.iso", Size: 1},
		{Kind: journal.Symlink, Path: "releases/latest", Target: "1.0"},
		{Kind: journal.Symlink, Path: "releases/stable", Target: "latest"},
		{Kind: journal.Symlink, Path: "current", Target: "releases/stable/x.iso"},
		{Kind: journal.Symlink, Path: "pool/up", Target: "../releases"},
		{Kind: journal.Symlink, Path: "loop/a", Target: "b"},
		{Kind: journal.Symlink, Path: "loop/b", Target: "a"},
	} {
		if err := st.Apply(r); err != nil {
			t.Fatalf("apply %s: %v", r.Path, err)
		}
	}
	for _, c := range []struct {
		in, want     string
		followed, ok bool
	}{
		{"releases/1.0/x.iso", "releases/1.0/x.iso", false, true},
		{"releases/latest/x.iso", "releases/1.0/x.iso", true, true},
		{"releases/stable/x.iso", "releases/1.0/x.iso", true, true}, // a link to a link
		{"current", "releases/1.0/x.iso", true, true},
		{"pool/up/latest/x.iso", "releases/1.0/x.iso", true, true},
		{"releases/latest/missing", "releases/1.0/missing", true, true},
		{"loop/a/x", "", true, false},
		{"nothing/here", "nothing/here", false, true},
	} {
		got, followed, ok := resolveLinks(st, c.in)
		if got != c.want || followed != c.followed || ok != c.ok {
			t.Errorf("resolveLinks(%q) = %q, %v, %v; want %q, %v, %v", c.in, got, followed, ok, c.want, c.followed, c.ok)
		}
	}
}
