package redirect_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/redirect"

	"github.com/pando-mirror/pando/internal/keytest"
)

// TestRedirectThroughSymlinks: on the hub's map and on the signed copy an
// edge loads, a path through the origin's symlinks is answered for the
// file the links lead to: a redirect to a mirror holding it, its mirror
// list and its Metalink.
func TestRedirectThroughSymlinks(t *testing.T) {
	w := newWorld(t)
	for link, target := range map[string]string{"latest": "pool", "deep/current": "er/still/f.bin"} {
		if err := w.Link(link, target); err != nil {
			t.Fatal(err)
		}
	}
	holdAll(w, mirror("m1", "DE", 100, config.AccessHTTPS))
	hubMap := w.Map()
	signer, verifier := keytest.New(t, "hub.example.org")
	data, err := availability.Encode(hubMap, signer)
	if err != nil {
		t.Fatal(err)
	}
	edgeMap, err := availability.Decode(data, verifier)
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*availability.Map{"hub": hubMap, "edge": edgeMap} {
		srv := serve(t, m, nil, redirect.Options{})
		for path, want := range map[string]string{
			"/latest/a.iso":       "https://m1.example/pub/pool/a.iso",
			"/deep/current":       "https://m1.example/pub/deep/er/still/f.bin",
			"/latest/missing.iso": "",
		} {
			resp := get(t, noFollow(), http.MethodGet, srv.URL+path)
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if want != "" && loc != want {
				t.Errorf("%s: GET %s: Location %q, want %q", name, path, loc, want)
			}
			if want == "" && strings.HasPrefix(loc, "https://m1.example/") {
				t.Errorf("%s: GET %s went to a mirror (%s); no such file", name, path, loc)
			}
		}
		resp := get(t, http.DefaultClient, http.MethodGet, srv.URL+"/latest/a.iso.meta4")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "https://m1.example/pub/pool/a.iso") {
			t.Errorf("%s: Metalink through the link: %d\n%s", name, resp.StatusCode, body)
		}
	}
}
