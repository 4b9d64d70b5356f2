package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

const tailsJSON = `{
  "version": 2,
  "mirrors": [
    {"url_prefix": "https://mirrors.edge.kernel.org/tails", "weight": 20, "email": "ops@kernel.org", "notes": "CDN", "extra": [1]},
    {"url_prefix": "http://tails.example.net:8080/dl/", "weight": 5},
    {"url_prefix": "https://Mirrors.Edge.Kernel.org/other/", "weight": 1, "email": null},
    {"url_prefix": "https://[::1]/t/"}
  ]
}`

func TestParseMirrorsJSON(t *testing.T) {
	got, err := ParseMirrorsJSON("mirrors.json", []byte(tailsJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := []JSONMirror{
		{URLPrefix: "https://mirrors.edge.kernel.org/tails/", Weight: 20, Email: "ops@kernel.org", Notes: "CDN"},
		{URLPrefix: "http://tails.example.net:8080/dl/", Weight: 5},
		{URLPrefix: "https://mirrors.edge.kernel.org/other/", Weight: 1},
		{URLPrefix: "https://[::1]/t/", Weight: 100},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseMirrorsJSON:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseMirrorsJSONErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{``, "invalid JSON at byte 0: unexpected end of JSON input"},
		{`{"mirrors": [}`, "invalid JSON at byte 14: invalid character '}' looking for beginning of value"},
		{`[]`, "want an object, got JSON array"},
		{`{}`, `want an object with a "mirrors" array`},
		{`{"mirrors": {}}`, "mirrors: want an array, got JSON object"},
		{`{"mirrors": [3]}`, "mirrors[0]: want an object, got JSON number"},
		{`{"mirrors": [{"url_prefix": "https://a/"}, {"weight": 1}]}`, "mirrors[1]: url_prefix: required"},
		{`{"mirrors": [{"url_prefix": 7}]}`, "mirrors[0]: url_prefix: want a string, got JSON number"},
		{`{"mirrors": [{"url_prefix": "https://a/", "weight": "10"}]}`, "mirrors[0]: weight: want a whole number, got JSON string"},
		{`{"mirrors": [{"url_prefix": "https://a/", "weight": 1.5}]}`, "mirrors[0]: weight: want a whole number, got JSON number 1.5"},
		{`{"mirrors": [{"url_prefix": "https://a/", "weight": -1}]}`, "mirrors[0]: weight -1: must be between 0 and 1000000"},
		{`{"mirrors": [{"url_prefix": "https://a/", "notes": false}]}`, "mirrors[0]: notes: want a string, got JSON bool"},
		{`{"mirrors": [{"url_prefix": "rsync://a/"}]}`, `mirrors[0]: url_prefix "rsync://a/": scheme must be http or https`},
		{`{"mirrors": [{"url_prefix": "https://a/x"}, {"url_prefix": "https://A/x/"}]}`, `mirrors[1]: url_prefix "https://a/x/": also in mirrors[0]`},
		{`{"mirrors": []} x`, "invalid JSON at byte 17: invalid character 'x' after top-level value"},
		{`{"mirrors": [{"url_prefix": "https://a/", "email": "` + strings.Repeat("x", 5000) + `"}]}`, "mirrors[0]: email: longer than 4096 bytes"},
	} {
		_, err := ParseMirrorsJSON("mirrors.json", []byte(tt.in))
		if err == nil || err.Error() != "mirrors.json: "+tt.want {
			t.Errorf("ParseMirrorsJSON(%.40q):\n got %v\nwant %s", tt.in, err, tt.want)
		}
	}
	big := make([]byte, MaxMirrorsJSONSize+1)
	if _, err := ParseMirrorsJSON("mirrors.json", big); err == nil || err.Error() != "mirrors.json: larger than 4194304 bytes" {
		t.Errorf("oversized input: %v", err)
	}
}

func TestImportMirrors(t *testing.T) {
	entries, err := ParseMirrorsJSON("mirrors.json", []byte(tailsJSON))
	if err != nil {
		t.Fatal(err)
	}
	existing := []Mirror{{Name: "tails-example-net", HTTPS: "https://tails.example.net/dl/"}}
	got, err := ImportMirrors("mirrors.json", entries, existing)
	if err != nil {
		t.Fatal(err)
	}
	want := []Mirror{
		{Name: "mirrors-edge-kernel-org", HTTPS: "https://mirrors.edge.kernel.org/tails/", Weight: 20, Contact: "ops@kernel.org", Notes: "CDN"},
		{Name: "tails-example-net-2", HTTP: "http://tails.example.net:8080/dl/", Weight: 5},
		{Name: "mirrors-edge-kernel-org-2", HTTPS: "https://mirrors.edge.kernel.org/other/", Weight: 1},
		{Name: "1", HTTPS: "https://[::1]/t/", Weight: 100},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ImportMirrors:\n got %+v\nwant %+v", got, want)
	}

	existing = append(existing, Mirror{Name: "k", HTTP: "http://tails.example.net:8080/dl/"})
	_, err = ImportMirrors("mirrors.json", entries, existing)
	wantErr := `mirrors.json: mirrors[1]: url_prefix "http://tails.example.net:8080/dl/": already in the registry as mirror "k"`
	if err == nil || err.Error() != wantErr {
		t.Errorf("ImportMirrors duplicate:\n got %v\nwant %s", err, wantErr)
	}
}

func TestNameFromHost(t *testing.T) {
	for in, want := range map[string]string{
		"Mirror.Example.ORG":           "mirror-example-org",
		"--a..b--":                     "a-b",
		"":                             "mirror",
		"::":                           "mirror",
		strings.Repeat("a", 70):        strings.Repeat("a", 50),
		strings.Repeat("a", 49) + ".b": strings.Repeat("a", 49),
	} {
		if got := nameFromHost(in); got != want {
			t.Errorf("nameFromHost(%q) = %q, want %q", in, got, want)
		}
		if err := CheckMirrorName(nameFromHost(in)); err != nil {
			t.Errorf("nameFromHost(%q): %v", in, err)
		}
	}
}

// TestRoundTrip imports a mirrors.json into a hub.toml and exports it again.
func TestRoundTrip(t *testing.T) {
	entries, err := ParseMirrorsJSON("mirrors.json", []byte(tailsJSON))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := ImportMirrors("mirrors.json", entries, nil)
	if err != nil {
		t.Fatal(err)
	}
	text, err := FormatMirrors(ms)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse([]byte(minimal+"\n"+string(text)), "")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	out, err := ExportMirrorsJSON(cfg.Mirrors)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseMirrorsJSON("export", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, entries) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, entries)
	}
	var generic map[string]any
	if err := json.Unmarshal(out, &generic); err != nil {
		t.Fatal(err)
	}
}

func TestFormatMirrors(t *testing.T) {
	got, err := FormatMirrors([]Mirror{
		{Name: "a", HTTPS: "https://a/", Country: "FR", Weight: 0, Notes: "line 1\n\"quoted\""},
		{Name: "b", HTTP: "http://b/", Rsync: "rsync://b/m/", Weight: 100, Contact: "x@b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `[[mirror]]
name = "a"
https = "https://a/"
country = "FR"
weight = 0
notes = "line 1\n\"quoted\""

[[mirror]]
name = "b"
http = "http://b/"
rsync = "rsync://b/m/"
weight = 100
contact = "x@b"
`
	if string(got) != want {
		t.Errorf("FormatMirrors:\n%s\nwant:\n%s", got, want)
	}
}

func TestExportMirrorsJSON(t *testing.T) {
	got, err := ExportMirrorsJSON([]Mirror{
		{Name: "off", HTTPS: "https://off/", Weight: 0},
		{Name: "both", HTTP: "http://both/", HTTPS: "https://both/", Weight: 7, Contact: "a@b", Notes: "<n>"},
		{Name: "plain", HTTP: "http://plain/", Weight: 1},
		{Name: "rsync-only", Rsync: "rsync://r/m/", Weight: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "mirrors": [
    {
      "url_prefix": "https://both/",
      "weight": 7,
      "email": "a@b",
      "notes": "<n>"
    },
    {
      "url_prefix": "http://plain/",
      "weight": 1
    }
  ]
}
`
	if string(got) != want {
		t.Errorf("ExportMirrorsJSON:\n%s\nwant:\n%s", got, want)
	}
	empty, _ := ExportMirrorsJSON(nil)
	if string(empty) != "{\n  \"mirrors\": []\n}\n" {
		t.Errorf("ExportMirrorsJSON(nil) = %s", empty)
	}
}

func TestAppendMirrors(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "hub.toml")
	orig := minimal + "# my mirrors\n[[mirror]]\nname = \"a\"\nhttps = \"https://a/\""
	if err := os.WriteFile(name, []byte(orig), 0o640); err != nil {
		t.Fatal(err)
	}
	add := []Mirror{{Name: "b", HTTP: "http://b/", Weight: 3}}
	if err := AppendMirrors(name, add); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	want := orig + "\n\n[[mirror]]\nname = \"b\"\nhttp = \"http://b/\"\nweight = 3\n"
	if string(data) != want {
		t.Errorf("after AppendMirrors:\n%s\nwant:\n%s", data, want)
	}
	if fi, _ := os.Stat(name); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", fi.Mode().Perm())
	}

	err = AppendMirrors(name, []Mirror{
		{Name: "c", HTTP: "http://c/", Weight: 1},
		{Name: "a", HTTP: "http://a2/", Weight: 1},
		{Name: "d", HTTPS: "https://a/", Weight: 1},
	})
	wantErr := name + `: mirror "a": name already in use` + "\n" +
		name + `: mirror "d": https "https://a/": already the URL of mirror "a"`
	if err == nil || err.Error() != wantErr {
		t.Errorf("AppendMirrors duplicates:\n got %v\nwant %s", err, wantErr)
	}
	after, _ := os.ReadFile(name)
	if string(after) != string(data) {
		t.Errorf("a refused AppendMirrors changed the file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left files behind: %v", ents)
	}
}

func FuzzImportMirrorsJSON(f *testing.F) {
	f.Add([]byte(tailsJSON))
	f.Add([]byte(`{"mirrors":[{"url_prefix":"http://a/","weight":0}]}`))
	f.Add([]byte(`{"mirrors":[{"url_prefix":"https://a/b%20c/"},{"url_prefix":"https://a/b c/"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseMirrorsJSON("mirrors.json", data)
		if err != nil {
			return
		}
		ms, err := ImportMirrors("mirrors.json", entries, nil)
		if err != nil {
			t.Fatalf("ImportMirrors of parsed entries: %v", err)
		}
		text, err := FormatMirrors(ms)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Parse([]byte(minimal+"\n"+string(text)), "")
		if err != nil {
			t.Fatalf("imported mirrors do not parse: %v\n%s", err, text)
		}
		out, err := ExportMirrorsJSON(cfg.Mirrors)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseMirrorsJSON("export", out); err != nil {
			t.Fatalf("exported mirrors.json does not parse: %v\n%s", err, out)
		}
	})
}

// TestAppendMirrorsConcurrently: imports at once lose none of each other's
// mirrors.
func TestAppendMirrorsConcurrently(t *testing.T) {
	name := filepath.Join(t.TempDir(), "hub.toml")
	if err := os.WriteFile(name, []byte(minimal), 0o640); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- AppendMirrors(name, []Mirror{{Name: fmt.Sprintf("m%d", i), HTTP: fmt.Sprintf("http://m%d/", i), Weight: 1}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	cfg, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Mirrors) != n {
		t.Errorf("%d mirrors after %d concurrent imports, want all", len(cfg.Mirrors), n)
	}
}
