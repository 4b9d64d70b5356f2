package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/buftest"
)

// TestClientsThroughHub sends real download clients (curl, aria2c, Maven)
// through a running "pando hub" over a network of three mirrors, one of
// which serves tampered copies of two objects at the right sizes. Every
// client must end up with the origin's bytes, and no redirect may ever
// point at the tampered mirror.
//
// The tools come from Debian packages that "make test" installs
// (scripts/install-deps.sh); a missing one fails the test rather than
// skipping it.
func TestClientsThroughHub(t *testing.T) {
	clientsNeedTools(t)
	c := newClientsNetwork(t)

	t.Run("curl", func(t *testing.T) { c.testCurl(t) })
	t.Run("aria2c", func(t *testing.T) { c.testAria2(t) })
	t.Run("maven", func(t *testing.T) { c.testMaven(t) })
}

// The Maven artifact of the sample repository, below maven/ in the tree.
const (
	clJarPath   = "maven/org/example/hello/1.0/hello-1.0.jar"
	clPomPath   = "maven/org/example/hello/1.0/hello-1.0.pom"
	clISOPath   = "iso/big.iso"
	clDebianM2  = "/usr/share/maven-repo"
	clPluginDir = clDebianM2 + "/org/apache/maven/plugins/maven-dependency-plugin/3.5.0"
	// clPluginGoal is maven-dependency-plugin's get goal in the version
	// Debian's libmaven-dependency-plugin-java installs.
	clPluginGoal = "org.apache.maven.plugins:maven-dependency-plugin:3.5.0:get"
)

// clientsNeedTools fails the test when a client it drives is missing.
func clientsNeedTools(t *testing.T) {
	t.Helper()
	for _, tool := range []struct{ cmd, pkg string }{{"curl", "curl"}, {"aria2c", "aria2"}, {"mvn", "maven"}} {
		if _, err := exec.LookPath(tool.cmd); err != nil {
			t.Fatalf("%s is not installed: `make test` installs it (Debian package %s, see scripts/install-deps.sh)", tool.cmd, tool.pkg)
		}
	}
	for _, f := range []struct{ path, pkg string }{
		{clPluginDir + "/maven-dependency-plugin-3.5.0.jar", "libmaven-dependency-plugin-java"},
		// A dependency of the plugin that its package does not pull in.
		{clDebianM2 + "/junit/junit/4.x/junit-4.x.jar", "junit4"},
	} {
		if _, err := os.Stat(f.path); err != nil {
			t.Fatalf("%s is missing: `make test` installs it (Debian package %s, see scripts/install-deps.sh)", f.path, f.pkg)
		}
	}
}

// clientsNetwork is an origin, three mirrors and a hub, all running.
type clientsNetwork struct {
	n                   *network
	files               map[string][]byte // what the origin published
	goodA, goodB, bad   string            // the mirrors' URL prefixes
	hub                 string            // the hub's URL prefix
	badRoot             string
	tamperedJar, badISO []byte // what the bad mirror serves
}

func newClientsNetwork(t *testing.T) *clientsNetwork {
	jar := clRandom(64 << 10)
	iso := clRandom(3 << 20)
	pom := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.example</groupId>
  <artifactId>hello</artifactId>
  <version>1.0</version>
  <packaging>jar</packaging>
</project>
`)
	metadata := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<metadata>
  <groupId>org.example</groupId>
  <artifactId>hello</artifactId>
  <versioning>
    <latest>1.0</latest>
    <release>1.0</release>
    <versions><version>1.0</version></versions>
    <lastUpdated>20240101000000</lastUpdated>
  </versioning>
</metadata>
`)
	files := map[string][]byte{
		"index.html": []byte("<h1>repo</h1>\n"),
		clJarPath:    jar,
		clPomPath:    pom,
		"maven/org/example/hello/maven-metadata.xml": metadata,
		clISOPath: iso,
	}
	for _, p := range []string{clJarPath, clPomPath, "maven/org/example/hello/maven-metadata.xml"} {
		sum := sha1.Sum(files[p])
		files[p+".sha1"] = []byte(hex.EncodeToString(sum[:]))
	}
	asStrings := make(map[string]string, len(files))
	for p, data := range files {
		asStrings[p] = string(data)
	}
	n := newNetwork(t, asStrings)
	c := &clientsNetwork{n: n, files: files}

	roots := map[string]string{}
	for _, name := range []string{"good-a", "good-b", "bad"} {
		root := filepath.Join(n.dir, name)
		if r := n.sync(t, n.url, root); r.code != 0 {
			t.Fatalf("pando mirror sync %s: exit %d\n%s", name, r.code, r.stderr)
		}
		roots[name] = root
	}
	// The bad mirror changes bytes of two objects and keeps their sizes.
	c.badRoot = roots["bad"]
	c.tamperedJar = clTamper(t, c.badRoot, clJarPath, 1000)
	c.badISO = clTamper(t, c.badRoot, clISOPath, 2<<20)

	c.goodA, c.goodB, c.bad = startServe(t, roots["good-a"]), startServe(t, roots["good-b"]), startServe(t, c.badRoot)
	cfg := filepath.Join(n.dir, "hub.toml")
	toml := fmt.Sprintf(`[origin]
url = %q
pubkey = %q

[store]
path = "hub.db"

[check]
interval = "1h"
hash_budget = "1GB"
timeout = "5s"

`, n.url, n.pub) + mirrorTOML("good-a", "http", c.goodA) + "\n" + mirrorTOML("good-b", "http", c.goodB) + "\n" + mirrorTOML("bad", "http", c.bad)
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	c.hub = clStartHub(t, cfg)
	c.checkHubSawTampering(t)
	return c
}

// clTamper inverts the byte at offset off of p below root and returns the
// file's new contents.
func clTamper(t *testing.T, root, p string, off int) []byte {
	t.Helper()
	data := readFile(t, root, p)
	data[off] ^= 0xff
	if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(p)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func clRandom(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// clStartHub runs "pando hub --config cfg" on a free loopback port until
// the test ends, waits for its first check pass, and returns its URL
// prefix. At the end it is sent SIGTERM and must exit 0 within 10 s.
func clStartHub(t *testing.T, cfg string) string {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(pandoBin, "hub", "--config", cfg, "--listen", addr)
	logs := &buftest.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
			t.Errorf("pando hub exited before the end of the test: %v\n%s", waitErr, logs.String())
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
			if waitErr != nil {
				t.Errorf("pando hub on SIGTERM: %v, want exit 0\n%s", waitErr, logs.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("pando hub did not exit within 10 s of SIGTERM\n%s", logs.String())
		}
	})

	hub := "http://" + addr + "/"
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("pando hub exited: %v\n%s", waitErr, logs.String())
		default:
		}
		var st struct {
			Passes int64 `json:"passes"`
		}
		if err := clGetJSON(client, hub+"api/v1/status", &st); err == nil && st.Passes >= 1 {
			return hub
		}
		if time.Now().After(deadline) {
			t.Fatalf("pando hub did not complete a check pass within 60 s\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func clGetJSON(client *http.Client, u string, v any) error {
	resp, err := client.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(v)
}

// checkHubSawTampering makes sure the premise holds: the first pass found
// both tampered objects on "bad" and nothing wrong with the good mirrors.
func (c *clientsNetwork) checkHubSawTampering(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	for _, name := range []string{"good-a", "good-b", "bad"} {
		var m struct {
			OK       bool `json:"ok"`
			Problems []struct {
				Kind, Path string
			} `json:"problems"`
		}
		if err := clGetJSON(client, c.hub+"api/v1/mirrors/"+name, &m); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range m.Problems {
			got = append(got, p.Kind+" "+p.Path)
		}
		want := ""
		if name == "bad" {
			want = "hash " + clISOPath + "; hash " + clJarPath
		}
		// The order of problems is the API's; compare as a set.
		if clSortedJoin(got) != want || m.OK != (name != "bad") {
			t.Fatalf("hub's view of mirror %s: ok=%v, problems %q; want ok=%v, problems %q", name, m.OK, got, name != "bad", want)
		}
	}
}

func clSortedJoin(s []string) string {
	s = slices.Clone(s)
	slices.Sort(s)
	return strings.Join(s, "; ")
}

// goodMirror reports whether u is the URL of p on one of the good mirrors.
func (c *clientsNetwork) goodMirror(u, p string) bool {
	return u == c.goodA+p || u == c.goodB+p
}

// clRun runs a client with a deadline and returns its combined output and
// exit status.
func clRun(t *testing.T, timeout time.Duration, env []string, dir, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("%s %s: no result within %v\n%s", name, strings.Join(args, " "), timeout, out)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(out), 0
}

func (c *clientsNetwork) testCurl(t *testing.T) {
	iso := c.files[clISOPath]
	out := filepath.Join(t.TempDir(), "big.iso")
	if msg, code := clRun(t, time.Minute, nil, "", "curl", "-sS", "-L", "--max-time", "50", "-o", out, c.hub+clISOPath); code != 0 {
		t.Fatalf("curl -L %s: exit %d\n%s", clISOPath, code, msg)
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, iso) {
		t.Errorf("curl -L %s: got %d bytes (%v), not the origin's %d", clISOPath, len(got), err, len(iso))
	}

	// The redirect itself, as curl sees it.
	head, code := clRun(t, time.Minute, nil, "", "curl", "-sS", "-I", "--max-time", "20", c.hub+clISOPath)
	if code != 0 {
		t.Fatalf("curl -I: exit %d\n%s", code, head)
	}
	status, hdr := clParseHead(head)
	if !strings.Contains(status, " 302") {
		t.Errorf("curl -I %s: status %q, want 302\n%s", clISOPath, status, head)
	}
	loc := hdr["location"]
	if len(loc) != 1 || !c.goodMirror(loc[0], clISOPath) {
		t.Errorf("curl -I %s: Location %q, want %s on good-a (%s) or good-b (%s)", clISOPath, loc, clISOPath, c.goodA, c.goodB)
	}
	dups := 0
	for _, l := range hdr["link"] {
		for _, v := range strings.Split(l, ",") {
			if !strings.Contains(v, "rel=duplicate") {
				continue
			}
			dups++
			u := strings.TrimSpace(v)
			u = strings.TrimPrefix(u[:max(strings.Index(u, ">"), 0)], "<")
			if !c.goodMirror(u, clISOPath) || (len(loc) == 1 && u == loc[0]) {
				t.Errorf("curl -I: Link alternative %q is not the other good mirror", v)
			}
		}
	}
	if dups == 0 {
		t.Errorf("curl -I: no Link rel=duplicate alternative: %q", hdr["link"])
	}
	sum := sha256.Sum256(iso)
	if want := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"; len(hdr["repr-digest"]) != 1 || hdr["repr-digest"][0] != want {
		t.Errorf("curl -I: Repr-Digest %q, want %q", hdr["repr-digest"], want)
	}
	if strings.Contains(head, c.bad) {
		t.Errorf("curl -I names the tampered mirror %s:\n%s", c.bad, head)
	}

	// Many requests for the two tampered objects: the tampered mirror is
	// never a target or an alternative, and both good mirrors get some.
	noFollow := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	seen := map[string]int{}
	for i := range 200 {
		p, method := clJarPath, http.MethodGet
		if i%2 == 1 {
			p = clISOPath
		}
		if i%4 >= 2 {
			method = http.MethodHead
		}
		req, _ := http.NewRequestWithContext(t.Context(), method, c.hub+p, nil)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, p, err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		switch {
		case resp.StatusCode != http.StatusFound:
			t.Fatalf("request %d, %s %s: %s, want 302", i, method, p, resp.Status)
		case strings.HasPrefix(loc, c.bad):
			t.Fatalf("request %d, %s %s: redirected to the tampered mirror: %s", i, method, p, loc)
		case !c.goodMirror(loc, p):
			t.Fatalf("request %d, %s %s: Location %q is not a good mirror", i, method, p, loc)
		}
		for _, l := range resp.Header.Values("Link") {
			if strings.Contains(l, c.bad) {
				t.Fatalf("request %d, %s %s: Link names the tampered mirror: %s", i, method, p, l)
			}
		}
		seen[strings.TrimSuffix(loc, p)]++
	}
	if seen[c.goodA] == 0 || seen[c.goodB] == 0 {
		t.Errorf("200 redirects went %d to good-a, %d to good-b: want both used", seen[c.goodA], seen[c.goodB])
	}
}

// clParseHead splits curl -I output into the status line and headers
// (lower-case names, every value in order).
func clParseHead(s string) (string, map[string][]string) {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	hdr := map[string][]string{}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			k = strings.ToLower(strings.TrimSpace(k))
			hdr[k] = append(hdr[k], strings.TrimSpace(v))
		}
	}
	return lines[0], hdr
}

// clMetalink is the part of a Metalink v4 document the test reads.
type clMetalink struct {
	Files []struct {
		Name   string `xml:"name,attr"`
		Size   int64  `xml:"size"`
		Hashes []struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"hash"`
		URLs []string `xml:"url"`
	} `xml:"file"`
}

func (c *clientsNetwork) testAria2(t *testing.T) {
	iso := c.files[clISOPath]
	sum := sha256.Sum256(iso)

	// What aria2c will read: the good mirrors, the hash, never "bad".
	resp, err := http.Get(c.hub + clISOPath + ".meta4")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	var ml clMetalink
	if err := xml.Unmarshal(doc, &ml); err != nil || len(ml.Files) != 1 {
		t.Fatalf("%s.meta4: %v, %d files\n%s", clISOPath, err, len(ml.Files), doc)
	}
	f := ml.Files[0]
	if f.Name != "big.iso" || f.Size != int64(len(iso)) || len(f.Hashes) != 1 || f.Hashes[0].Type != "sha-256" || f.Hashes[0].Value != hex.EncodeToString(sum[:]) {
		t.Errorf("%s.meta4 describes the file wrongly:\n%s", clISOPath, doc)
	}
	goods := 0
	for _, u := range f.URLs {
		u = strings.TrimSpace(u)
		switch {
		case c.goodMirror(u, clISOPath):
			goods++
		case u == c.n.url+clISOPath: // the fall-back
		default:
			t.Errorf("%s.meta4 lists %s, neither a good mirror nor the fall-back", clISOPath, u)
		}
	}
	if goods != 2 {
		t.Errorf("%s.meta4 lists %d good mirrors, want 2:\n%s", clISOPath, goods, doc)
	}

	aria := func(dir string, args ...string) (string, int) {
		args = append([]string{"--no-conf=true", "--allow-overwrite=true", "--auto-file-renaming=false",
			"--summary-interval=0", "--console-log-level=warn", "--timeout=10", "--connect-timeout=5",
			"--max-tries=2", "--retry-wait=1", "-d", dir}, args...)
		return clRun(t, time.Minute, nil, dir, "aria2c", args...)
	}
	dir := t.TempDir()
	if out, code := aria(dir, c.hub+clISOPath+".meta4"); code != 0 {
		t.Fatalf("aria2c %s.meta4: exit %d\n%s", clISOPath, code, out)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "big.iso")); err != nil || !bytes.Equal(got, iso) {
		t.Errorf("aria2c: big.iso has %d bytes (%v), not the origin's %d", len(got), err, len(iso))
	}

	// The control: the same description with only the tampered mirror's
	// URL must fail aria2c's hash check, so the success above was checked.
	badDir := t.TempDir()
	bad := strings.NewReplacer(c.goodA, c.bad, c.goodB, c.bad, c.n.url, c.bad).Replace(string(doc))
	badML := filepath.Join(badDir, "bad.meta4")
	if err := os.WriteFile(badML, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	// aria2c's exit status 32 means "checksum validation failed".
	if out, code := aria(badDir, "--max-tries=1", "-M", badML); code != 32 {
		t.Errorf("aria2c on the tampered mirror's big.iso: exit %d, want 32 (checksum validation failed)\n%s", code, out)
	}
}

func (c *clientsNetwork) testMaven(t *testing.T) {
	jar, pom := c.files[clJarPath], c.files[clPomPath]
	work := t.TempDir()

	// A run through the hub: "central" is mirrored to the hub's maven/
	// tree, so the artifact, its POM and their .sha1 files all come
	// through redirects to good mirrors. -C fails on any checksum mismatch.
	out, code, local := c.maven(t, work, "through-hub", c.hub+"maven")
	if code != 0 || !strings.Contains(out, "BUILD SUCCESS") {
		t.Fatalf("mvn through the hub: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "Checksum validation failed") || strings.Contains(out, "[WARNING] Checksum") {
		t.Errorf("mvn through the hub complained about checksums:\n%s", out)
	}
	for _, p := range []string{clJarPath, clPomPath} {
		if want := "Downloaded from through-hub: " + c.hub + p; !strings.Contains(out, want) {
			t.Errorf("mvn output lacks %q:\n%s", want, out)
		}
	}
	got := clReadLocal(t, local, clJarPath)
	if !bytes.Equal(got, jar) {
		same := bytes.Equal(got, c.tamperedJar)
		t.Errorf("Maven's local repository holds a hello-1.0.jar of %d bytes that is not the origin's (the tampered one: %v)", len(got), same)
	}
	if got := clReadLocal(t, local, clPomPath); !bytes.Equal(got, pom) {
		t.Errorf("Maven's local repository holds another hello-1.0.pom:\n%s", got)
	}
	// Maven keeps the checksum it verified against next to the artifact.
	for _, p := range []string{clJarPath, clPomPath} {
		if got := clReadLocal(t, local, p+".sha1"); !bytes.Equal(bytes.TrimSpace(got), c.files[p+".sha1"]) {
			t.Errorf("Maven's %s.sha1 is %q, want the published %q", filepath.Base(p), got, c.files[p+".sha1"])
		}
	}

	// The control: pointed straight at the tampered mirror, the same run
	// fails on the jar's checksum and keeps nothing, so the success above
	// was verified.
	out, code, local = c.maven(t, work, "straight-to-bad", c.bad+"maven")
	if code == 0 || !strings.Contains(out, "Checksum validation failed") {
		t.Errorf("mvn -C straight from the tampered mirror: exit %d, want a checksum failure\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(local, filepath.FromSlash(strings.TrimPrefix(clJarPath, "maven/")))); err == nil {
		t.Errorf("mvn -C left the tampered mirror's jar in its local repository")
	}
}

// maven runs "mvn dependency:get" for org.example:hello:1.0 with central
// mirrored to repoURL (a mirror with id name), in a new local repository
// below work/name, and returns its output, exit status and the local repository.
//
// Only loopback is reachable, so the plugin and its dependencies come from
// Debian's /usr/share/maven-repo: the local repository is seeded with a
// symbolic link to each of its files. (A file:// plugin repository would
// not do: Debian's repository has no checksum files, which -C refuses.)
func (c *clientsNetwork) maven(t *testing.T, work, name, repoURL string) (string, int, string) {
	t.Helper()
	dir := filepath.Join(work, name)
	local := filepath.Join(dir, "m2")
	clSeedLocalRepo(t, local)
	settings := filepath.Join(dir, "settings.xml")
	global := filepath.Join(dir, "global-settings.xml")
	writeFiles(t, dir, map[string]string{
		"settings.xml": fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">
  <mirrors>
    <mirror>
      <id>%s</id>
      <mirrorOf>central</mirrorOf>
      <url>%s</url>
    </mirror>
  </mirrors>
</settings>
`, name, repoURL),
		"global-settings.xml": "<settings/>\n",
	})
	out, code := clRun(t, 3*time.Minute, []string{"MAVEN_SKIP_RC=1"}, dir, "mvn",
		"-B", "-C", "-s", settings, "-gs", global, "-Dmaven.repo.local="+local,
		clPluginGoal, "-Dartifact=org.example:hello:1.0")
	return out, code, local
}

// clSeedLocalRepo creates a Maven local repository at dst holding a
// symbolic link to every file of Debian's /usr/share/maven-repo. With no
// _remote.repositories next to them, Maven takes them as installed locally
// and looks for them nowhere else.
func clSeedLocalRepo(t *testing.T, dst string) {
	t.Helper()
	err := filepath.WalkDir(clDebianM2, func(src string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(clDebianM2, src)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return os.Symlink(src, target)
	})
	if err != nil {
		t.Fatalf("seeding a Maven repository from %s: %v", clDebianM2, err)
	}
}

// clReadLocal reads tree path p (below maven/) from Maven's local repository.
func clReadLocal(t *testing.T, local, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(local, filepath.FromSlash(strings.TrimPrefix(p, "maven/"))))
	if err != nil {
		t.Errorf("Maven's local repository: %v", err)
	}
	return data
}
