package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const mirrorsTestKey = "repo.example.org+3494b1e0+AYfb8mFar0WV16AwngtAI9CeNAVsbc0rDFl55+Od86nB"

const mirrorsTestJSON = `{"mirrors": [
  {"url_prefix": "https://tails.mirror.example/tails/", "weight": 10, "email": "a@b", "notes": "fast"},
  {"url_prefix": "http://dl.example.org/tails", "weight": 3}
]}`

// runMirrorsCLI runs "pando ARGS..." in-process.
func runMirrorsCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	code = run(context.Background(), e, args)
	return out.String(), errb.String(), code
}

func writeMirrorsTestFiles(t *testing.T) (dir, hub, js string) {
	t.Helper()
	dir = t.TempDir()
	hub = filepath.Join(dir, "hub.toml")
	js = filepath.Join(dir, "mirrors.json")
	cfg := "[origin]\nurl = \"https://repo.example.org/\"\npubkey = \"" + mirrorsTestKey + "\"\n"
	if err := os.WriteFile(hub, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(js, []byte(mirrorsTestJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, hub, js
}

func TestMirrorsImportPrints(t *testing.T) {
	out, errs, code := runMirrorsCLI(t, mirrorsTestJSON, "mirrors", "import", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := `[[mirror]]
name = "tails-mirror-example"
https = "https://tails.mirror.example/tails/"
weight = 10
contact = "a@b"
notes = "fast"

[[mirror]]
name = "dl-example-org"
http = "http://dl.example.org/tails/"
weight = 3
`
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
}

func TestMirrorsRoundTrip(t *testing.T) {
	_, hub, js := writeMirrorsTestFiles(t)
	out, errs, code := runMirrorsCLI(t, "", "mirrors", "import", "--config", hub, js)
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, errs)
	}
	if want := "added 2 mirrors to " + hub + ": tails-mirror-example, dl-example-org\n"; out != want {
		t.Errorf("import stdout = %q, want %q", out, want)
	}
	out, errs, code = runMirrorsCLI(t, "", "mirrors", "export", "--config", hub)
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	var got, want any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	wantJSON := strings.ReplaceAll(mirrorsTestJSON, `"http://dl.example.org/tails"`, `"http://dl.example.org/tails/"`)
	if err := json.Unmarshal([]byte(wantJSON), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("export after import:\n%s\nwant equivalent of:\n%s", out, wantJSON)
	}

	before, _ := os.ReadFile(hub)
	_, errs, code = runMirrorsCLI(t, "", "mirrors", "import", "--config", hub, js)
	wantErr := "pando mirrors: " + js + `: mirrors[0]: url_prefix "https://tails.mirror.example/tails/": already in the registry as mirror "tails-mirror-example"` + "\n" +
		js + `: mirrors[1]: url_prefix "http://dl.example.org/tails/": already in the registry as mirror "dl-example-org"` + "\n"
	if code != 1 || errs != wantErr {
		t.Errorf("second import: exit %d, stderr:\n%s\nwant:\n%s", code, errs, wantErr)
	}
	if after, _ := os.ReadFile(hub); !bytes.Equal(before, after) {
		t.Errorf("refused import changed %s", hub)
	}
}

func TestMirrorsUsage(t *testing.T) {
	_, hub, js := writeMirrorsTestFiles(t)
	bad := filepath.Join(filepath.Dir(js), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"mirrors":[{"url_prefix":"https://a/","weight":"x"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"mirrors"}, 2, "pando mirrors: need a subcommand: import or export\n"},
		{[]string{"mirrors", "sync"}, 2, "pando mirrors: unknown subcommand \"sync\": want import or export\n"},
		{[]string{"mirrors", "import"}, 2, "pando mirrors: need the mirrors.json FILE to import\n"},
		{[]string{"mirrors", "import", js, "x"}, 2, "pando mirrors: unexpected argument \"x\"\n"},
		{[]string{"mirrors", "export"}, 2, "pando mirrors: need --config hub.toml\n"},
		{[]string{"mirrors", "export", "--config", js}, 1, "pando mirrors: " + js + ": toml: line 1: expected '.' or '=', but got '{' instead\n"},
		{[]string{"mirrors", "import", "-"}, 1, "pando mirrors: standard input: invalid JSON at byte 0: unexpected end of JSON input\n"},
		{[]string{"mirrors", "import", bad}, 1, "pando mirrors: " + bad + ": mirrors[0]: weight: want a whole number, got JSON string\n"},
		{[]string{"mirrors", "import", "--config", hub + ".missing", js}, 1, "pando mirrors: open " + hub + ".missing: no such file or directory\n"},
	} {
		_, errs, code := runMirrorsCLI(t, "", tt.args...)
		if code != tt.code || !strings.HasPrefix(errs, tt.want) {
			t.Errorf("pando %s: exit %d, stderr %q; want %d, %q", strings.Join(tt.args, " "), code, errs, tt.code, tt.want)
		}
	}
	for _, args := range [][]string{{"mirrors", "--help"}, {"mirrors", "import", "--help"}, {"mirrors", "export", "-h"}} {
		_, errs, code := runMirrorsCLI(t, "", args...)
		if code != 0 || !strings.HasPrefix(errs, "Usage: pando mirrors") {
			t.Errorf("pando %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
		}
	}
}
