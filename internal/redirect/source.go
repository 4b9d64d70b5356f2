package redirect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/availability"
)

// FetchTimeout bounds one fetch of a map from a URL.
const FetchTimeout = 60 * time.Second

// ErrOlderMap refuses a map created before the one in use: replaying an old
// signed map would send downloads by stale health.
var ErrOlderMap = errors.New("map is older than the one in use")

// A Source keeps the current signed availability map of an edge: loaded
// from a file or an http(s) URL, verified, and swapped in atomically. A map
// that does not verify, or is older than the current one, or names another
// origin, is refused and the current map kept. Map is safe for concurrent
// use with Reload.
type Source struct {
	loc    string // file name or URL
	v      note.Verifier
	client *http.Client

	cur atomic.Pointer[availability.Map]

	mu       sync.Mutex // serializes Reload and guards the fields below
	etag     string     // URL: validators of the last response
	modified string
	size     int64     // file: size and modification time last read
	mtime    time.Time //
	raw      []byte    // the signed map in use
}

// NewSource returns a source of signed maps at loc (a file name, or an
// http:// or https:// URL) verified with v. client may be nil for
// http.DefaultClient's transport.
func NewSource(loc string, v note.Verifier, client *http.Client) *Source {
	if client == nil {
		client = &http.Client{}
	}
	return &Source{loc: loc, v: v, client: client}
}

// Map returns the map in use, nil before the first successful Reload.
func (s *Source) Map() *availability.Map { return s.cur.Load() }

func (s *Source) isURL() bool {
	return strings.HasPrefix(s.loc, "http://") || strings.HasPrefix(s.loc, "https://")
}

// Reload reads the map again if it changed, verifies it and swaps it in.
// It reports whether a new map is in use.
func (s *Source) Reload(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var data []byte
	var err error
	if s.isURL() {
		data, err = s.fetch(ctx)
	} else {
		data, err = s.readFile()
	}
	if err != nil || data == nil {
		return false, err
	}
	if bytes.Equal(data, s.raw) {
		return false, nil
	}
	m, err := availability.Decode(data, s.v)
	if err != nil {
		return false, fmt.Errorf("%s: %w", s.loc, err)
	}
	if err := s.acceptable(m); err != nil {
		return false, fmt.Errorf("%s: %w", s.loc, err)
	}
	s.raw = data
	s.cur.Store(m)
	return true, nil
}

// acceptable refuses a map for another origin or older than the current.
func (s *Source) acceptable(m *availability.Map) error {
	old := s.cur.Load()
	switch {
	case old == nil:
		return nil
	case m.Origin() != old.Origin():
		return fmt.Errorf("map for origin %q, the one in use is for %q", m.Origin(), old.Origin())
	case m.Created().Before(old.Created()):
		return fmt.Errorf("%w: created %s, the one in use %s", ErrOlderMap,
			m.Created().Format(time.RFC3339), old.Created().Format(time.RFC3339))
	}
	return nil
}

// readFile returns the file's contents, or nil if its size and
// modification time are those last read.
func (s *Source) readFile() ([]byte, error) {
	f, err := os.Open(s.loc)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", s.loc)
	}
	if s.raw != nil && fi.Size() == s.size && fi.ModTime().Equal(s.mtime) {
		return nil, nil
	}
	data, err := readLimited(f, s.loc)
	if err != nil {
		return nil, err
	}
	s.size, s.mtime = fi.Size(), fi.ModTime()
	return data, nil
}

// fetch GETs the map, conditionally on the last response's validators; it
// returns nil if the server says it has not changed.
func (s *Source) fetch(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.loc, nil)
	if err != nil {
		return nil, fmt.Errorf("map URL %s: %w", s.loc, err)
	}
	if s.raw != nil {
		if s.etag != "" {
			req.Header.Set("If-None-Match", s.etag)
		}
		if s.modified != "" {
			req.Header.Set("If-Modified-Since", s.modified)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && s.raw != nil:
		return nil, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s", s.loc, resp.Status)
	}
	data, err := readLimited(resp.Body, s.loc)
	if err != nil {
		return nil, err
	}
	s.etag, s.modified = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	return data, nil
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, availability.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > availability.MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, availability.MaxSize)
	}
	return data, nil
}

// Run reloads the map every interval until ctx ends, logging each new map
// and each refusal; a refused or unreadable map leaves the current one in
// use.
func (s *Source) Run(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := s.Reload(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("availability map refused; keeping the one in use", "map", s.loc, "err", err)
		case changed:
			log.Info("availability map loaded", "map", s.loc, "summary", s.Map().String())
		}
	}
}
