package get

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
)

// Limits on what a hub may send.
const (
	maxMirrorList = 1 << 20 // bytes of a ?mirrorlist=json answer
	maxListed     = 1000    // mirrors taken from it
	maxDiscover   = 16      // directories probed for a tree's .pando/
)

// A mirrorList is a hub's answer to GET URL?mirrorlist=json: the object's
// path, what the hub believes its size and SHA-256 are (never trusted) and
// its mirrors in preference order.
type mirrorList struct {
	Path    string         `json:"path"`
	Size    *int64         `json:"size"`
	SHA256  string         `json:"sha256"`
	Mirrors []listedMirror `json:"mirrors"`
}

type listedMirror struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Country  string `json:"country"`
	Priority int    `json:"priority"`
}

// A source is a tree to verify against and download from.
type source struct {
	name string // where it came from: a hub's mirror name, "mirrors.json", "--mirror" or "url"
	tree string // ends in "/"
}

// A plan is where to look for one file: its path in the tree and the trees
// that may hold it, best first.
type plan struct {
	path    string
	sources []source
	hub     *mirrorList // the hub's list, if it sent one
}

// plan finds the file's path and the trees to try: the hub's mirror list,
// else its mirrors.json in weighted random order; then the Mirrors given;
// then the tree the URL itself points into.
func (c *Client) plan(ctx context.Context, o *Options, log *slog.Logger, rnd *rand.Rand) (plan, error) {
	u, urlPath, err := parseFileURL(o.URL)
	if err != nil {
		return plan{}, err
	}
	if o.Path != "" {
		if err := journal.CheckPath(o.Path); err != nil {
			return plan{}, err
		}
	}
	pl := c.hubPlan(ctx, u, urlPath, o.Path, log, rnd)
	if pl.path == "" {
		pl.path = c.findPath(ctx, u, urlPath, o, log)
	}
	if err := journal.CheckPath(pl.path); err != nil {
		return plan{}, fmt.Errorf("%s: %w", o.URL, err)
	}
	for _, m := range o.Mirrors {
		tree, err := treeBase(m)
		if err != nil {
			return plan{}, err
		}
		pl.sources = append(pl.sources, source{name: "--mirror", tree: tree})
	}
	if tree, ok := treeOf(u, pl.path); ok {
		pl.sources = append(pl.sources, source{name: "url", tree: tree})
	}
	pl.sources = dedup(pl.sources)
	return pl, nil
}

// hubPlan asks the hub for the object's mirror list, then for its
// mirrors.json. It returns a plan with an empty path if neither answered.
func (c *Client) hubPlan(ctx context.Context, u *url.URL, urlPath, want string, log *slog.Logger, rnd *rand.Rand) plan {
	ml, err := c.mirrorList(ctx, u)
	if err == nil {
		pl, err := fromMirrorList(ml, urlPath, want, log)
		if err == nil {
			return pl
		}
		log.Warn("hub mirror list refused", "url", u.String(), "err", err)
	} else {
		log.Debug("no mirror list from the hub", "err", err)
	}
	ms, err := c.mirrorsJSON(ctx, u)
	if err != nil {
		log.Debug("no mirrors.json from the hub", "err", err)
		return plan{}
	}
	pl := plan{path: firstNonEmpty(want, urlPath)}
	for _, m := range weighted(ms, rnd) {
		pl.sources = append(pl.sources, source{name: "mirrors.json", tree: m.URLPrefix})
	}
	return pl
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// findPath decides the file's path when no hub said: the one given, else
// the rest of the URL below the nearest parent directory that holds a
// .pando/checkpoint, else the URL's whole path.
func (c *Client) findPath(ctx context.Context, u *url.URL, urlPath string, o *Options, log *slog.Logger) string {
	if o.Path != "" {
		return o.Path
	}
	if p, ok := c.discover(ctx, u, urlPath); ok {
		log.Debug("found the tree", "url", u.String(), "path", p)
		return p
	}
	return urlPath
}

// discover probes the URL's directories, from the server's root down, for a
// .pando/checkpoint, and returns the path of the file below the first that
// has one. It is only a guess: the checkpoint is verified later.
func (c *Client) discover(ctx context.Context, u *url.URL, urlPath string) (string, bool) {
	segs := strings.Split(urlPath, "/")
	for i := 0; i < len(segs) && i < maxDiscover; i++ {
		prefix := strings.Join(segs[:i], "/")
		if i > 0 {
			prefix += "/"
		}
		tree := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/" + prefix}).String()
		if _, _, err := c.getSmall(ctx, tree+logdir.CheckpointPath, checkpoint.MaxNoteSize, nil); err == nil {
			return strings.Join(segs[i:], "/"), true
		}
		if ctx.Err() != nil {
			return "", false
		}
	}
	return "", false
}

// parseFileURL checks a file URL and returns it with the file's path as the
// URL names it, unescaped and without the leading slash.
func parseFileURL(raw string) (*url.URL, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("URL %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, "", fmt.Errorf("URL %q: want http(s)://host/path with no user", raw)
	}
	p := strings.TrimPrefix(u.Path, "/")
	if p == "" || strings.HasSuffix(p, "/") {
		return nil, "", fmt.Errorf("URL %q names a directory, not a file", raw)
	}
	u.Fragment, u.RawFragment = "", ""
	return u, p, nil
}

// treeOf returns the tree a file URL points into, if its path ends in p.
func treeOf(u *url.URL, p string) (string, bool) {
	prefix, ok := strings.CutSuffix(u.Path, "/"+p)
	if !ok {
		return "", false
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: prefix + "/"}).String(), true
}

// mirrorList asks the hub for the object's mirror list.
func (c *Client) mirrorList(ctx context.Context, u *url.URL) (*mirrorList, error) {
	q := *u
	vals := q.Query()
	vals.Set("mirrorlist", "json")
	q.RawQuery = vals.Encode()
	resp, err := c.get(ctx, q.String(), http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %d %s", q.String(), resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return nil, fmt.Errorf("%s: Content-Type %q, not a mirror list", q.String(), resp.Header.Get("Content-Type"))
	}
	data, err := readAtMost(resp.Body, maxMirrorList)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q.String(), err)
	}
	var ml mirrorList
	if err := json.Unmarshal(data, &ml); err != nil {
		return nil, fmt.Errorf("%s: %w", q.String(), err)
	}
	if ml.Mirrors == nil {
		return nil, fmt.Errorf("%s: no \"mirrors\" array", q.String())
	}
	return &ml, nil
}

// fromMirrorList turns a hub's list into a plan. The hub's path must be the
// one asked for (Options.Path, else the URL's path), so a hub cannot send
// the client to another file; a mirror whose URL does not end in that path
// is skipped, since its tree cannot be told.
func fromMirrorList(ml *mirrorList, urlPath, want string, log *slog.Logger) (plan, error) {
	if err := journal.CheckPath(ml.Path); err != nil {
		return plan{}, err
	}
	if asked := firstNonEmpty(want, urlPath); ml.Path != asked {
		return plan{}, fmt.Errorf("path %q is not the one asked for (%q)", ml.Path, asked)
	}
	pl := plan{path: ml.Path, hub: ml}
	for i, m := range ml.Mirrors {
		if i == maxListed {
			log.Warn("hub lists too many mirrors; using the first ones", "count", len(ml.Mirrors), "used", maxListed)
			break
		}
		u, err := url.Parse(m.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			log.Warn("hub lists a mirror with a bad URL", "name", m.Name, "url", m.URL)
			continue
		}
		tree, ok := treeOf(u, ml.Path)
		if !ok {
			log.Warn("hub lists a mirror URL that does not end in the path", "name", m.Name, "url", m.URL, "path", ml.Path)
			continue
		}
		pl.sources = append(pl.sources, source{name: m.Name, tree: tree})
	}
	return pl, nil
}

// mirrorsJSON reads the Tails-style mirrors.json at the hub's root.
func (c *Client) mirrorsJSON(ctx context.Context, u *url.URL) ([]config.JSONMirror, error) {
	mu := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/mirrors.json"}).String()
	data, _, err := c.getSmall(ctx, mu, config.MaxMirrorsJSONSize, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, err
	}
	ms, err := config.ParseMirrorsJSON(mu, data)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, errors.New(mu + ": no mirrors")
	}
	return ms, nil
}

// weighted returns the mirrors with a positive weight in a random order in
// which each comes first with a probability proportional to its weight
// (weighted sampling without replacement, by Efraimidis and Spirakis' keys).
func weighted(ms []config.JSONMirror, rnd *rand.Rand) []config.JSONMirror {
	type keyed struct {
		m   config.JSONMirror
		key float64
	}
	ks := make([]keyed, 0, len(ms))
	for _, m := range ms {
		if m.Weight <= 0 {
			continue
		}
		e := rand.ExpFloat64()
		if rnd != nil {
			e = rnd.ExpFloat64()
		}
		ks = append(ks, keyed{m, e / float64(m.Weight)})
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	out := make([]config.JSONMirror, len(ks))
	for i, k := range ks {
		out[i] = k.m
	}
	return out
}

// dedup drops later sources for a tree already listed.
func dedup(ss []source) []source {
	seen := make(map[string]bool, len(ss))
	out := ss[:0]
	for _, s := range ss {
		if !seen[s.tree] {
			seen[s.tree] = true
			out = append(out, s)
		}
	}
	return out
}

// resolveLink returns the path a symlink record's target names.
func resolveLink(link, target string) string {
	return path.Join(path.Dir(link), target)
}
