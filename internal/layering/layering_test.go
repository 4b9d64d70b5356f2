package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/pando-mirror/pando/internal/"

// components may not import one another. A component's own helpers (probe
// for check; availability, geo and the DNS server for redirect) are listed
// as its parts.
var components = map[string][]string{
	"publish":  nil,
	"mirror":   nil,
	"serve":    nil,
	"verify":   nil,
	"check":    {"probe"},
	"redirect": {"availability", "geo", "dns"},
	"get":      nil,
	"status":   nil,
	"stats":    nil,
}

// shared packages may be imported by anyone but import no component.
var shared = []string{"journal", "batch", "checkpoint", "logdir", "safefile", "progress", "upstream", "config", "store", "logfile"}

// deps returns the module's internal packages pkg depends on, by their
// top-level name under internal/.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+pkg).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", pkg, err, stderr)
	}
	var ds []string
	for _, d := range strings.Fields(string(out)) {
		if rest, ok := strings.CutPrefix(d, module); ok && rest != pkg {
			ds = append(ds, strings.SplitN(rest, "/", 2)[0])
		}
	}
	return ds
}

// existing returns the top-level internal packages that exist.
func existing(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	have := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		have[strings.SplitN(strings.TrimPrefix(p, module), "/", 2)[0]] = true
	}
	return have
}

func TestComponentsDoNotImportEachOther(t *testing.T) {
	have := existing(t)
	for c, parts := range components {
		if !have[c] {
			continue
		}
		allowed := map[string]bool{c: true}
		for _, p := range parts {
			allowed[p] = true
		}
		for _, d := range deps(t, c) {
			if _, isComponent := components[d]; isComponent && !allowed[d] {
				t.Errorf("component %s imports component %s", c, d)
			}
			for other, otherParts := range components {
				for _, p := range otherParts {
					if d == p && other != c && !allowed[d] {
						t.Errorf("component %s imports %s, a part of %s", c, d, other)
					}
				}
			}
		}
	}
}

func TestSharedPackagesImportNoComponent(t *testing.T) {
	for _, s := range shared {
		for _, d := range deps(t, s) {
			if _, isComponent := components[d]; isComponent {
				t.Errorf("shared package %s imports component %s", s, d)
			}
		}
	}
}
