package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/safefile"
)

// signedMap is the latest availability map as signed for edges.
type signedMap struct {
	data    []byte
	etag    string
	created time.Time
}

// mapExport signs each new map with the hub's key, writes it to the
// configured file and keeps it for GET /availability.map.
type mapExport struct {
	signer note.Signer
	file   string
	cur    atomic.Pointer[signedMap]
}

// newMapExport loads the hub's key; with none configured there is no export.
func newMapExport(keyFile, mapFile string) (*mapExport, error) {
	if keyFile == "" {
		return nil, nil
	}
	s, _, err := checkpoint.LoadSigner(keyFile)
	if err != nil {
		return nil, fmt.Errorf("hub.key: %w", err)
	}
	return &mapExport{signer: s, file: mapFile}, nil
}

// publish signs m and makes it the map edges get.
func (x *mapExport) publish(m *availability.Map) error {
	if x == nil {
		return nil
	}
	data, err := availability.Encode(m, x.signer)
	if err != nil {
		return err
	}
	if x.file != "" {
		if err := safefile.WriteFile(x.file, data, 0o644); err != nil {
			return fmt.Errorf("hub.map_file: %w", err)
		}
	}
	sum := sha256.Sum256(data)
	x.cur.Store(&signedMap{data: data, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, created: m.Created()})
	return nil
}

// ServeHTTP answers GET /availability.map, conditionally.
func (x *mapExport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var cur *signedMap
	if x != nil {
		cur = x.cur.Load()
	}
	if cur == nil {
		http.Error(w, "no signed availability map: the hub has no key, or no pass has finished", http.StatusNotFound)
		return
	}
	w.Header().Set("ETag", cur.etag)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "application/octet-stream")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, cur.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	http.ServeContent(w, r, "", cur.created, strings.NewReader(string(cur.data)))
}
