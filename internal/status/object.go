package status

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"time"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/store"
)

// objectBody is the data of an object's page. Path is empty when the page
// only offers the form.
type objectBody struct {
	Path      string
	Kind      string
	Record    int64
	Size      int64
	SHA256    string
	Target    string
	Published time.Time
	MTime     time.Time
	Holders   []holderRow
	Holding   int      // mirrors holding the current version
	Unchecked []string // enabled mirrors with no state for the object
	Traffic   *chartView
	Stats     string
	Lookup    lookupForm
}

// A holderRow is the state of the object at one mirror and access point.
type holderRow struct {
	store.ObjectState
	MirrorURL string
	Current   bool // verified to hold the current version
}

func objectURL(base, path string) string {
	return base + "objects?" + url.Values{"path": {path}}.Encode()
}

func (s *server) object(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := r.URL.Query().Get("path")
	form := lookupForm{Action: s.opts.Base + "objects", Value: p}
	if p == "" {
		s.render(w, r, http.StatusOK, s.pages.object, "Look up an object", objectBody{Lookup: form})
		return
	}
	if err := journal.CheckPath(p); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Not a valid path",
			"The path cannot name an object: "+err.Error()+".")
		return
	}
	origin := s.src.Origin()
	if origin == nil {
		s.errorPage(w, r, http.StatusServiceUnavailable, "Origin not read yet",
			"The hub has not read the origin's signed log yet; try again after its first check.")
		return
	}
	e, ok := origin.State.Lookup(p)
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "No such object",
			"The origin's signed log has no live object at "+p+".")
		return
	}
	states, err := s.src.Store().ObjectMirrors(ctx, p)
	if err != nil {
		s.failed(w, r, err)
		return
	}
	now := s.opts.Now()
	body := objectBody{Path: p, Kind: e.Kind.String(), Record: e.Index, Size: e.Size, Target: e.Target,
		Published: time.Unix(e.Time, 0).UTC(), MTime: time.Unix(e.MTime, 0).UTC(), Lookup: form}
	if e.Kind == journal.File {
		body.SHA256 = hex.EncodeToString(e.SHA256[:])
	}
	s.holders(&body, e, states)
	body.Traffic, body.Stats = s.traffic(ctx, DownloadQuery{Path: p}, "Downloads of this object", now.Add(-s.opts.History), now)
	s.render(w, r, http.StatusOK, s.pages.object, p, body)
}

// holders fills in which mirrors hold the object, and which enabled
// mirrors have not been checked for it.
func (s *server) holders(body *objectBody, e *journal.Entry, states []store.ObjectState) {
	registered := map[string]bool{}
	for _, m := range s.src.Config().Mirrors {
		registered[m.Name] = true
	}
	seen := map[string]bool{}
	holding := map[string]bool{}
	for _, st := range states {
		if !registered[st.Mirror] {
			continue // its results outlived its entry in the registry
		}
		current := st.OK && st.Record == e.Index && st.Size == e.Size && st.SHA256 == body.SHA256
		body.Holders = append(body.Holders, holderRow{ObjectState: st, MirrorURL: mirrorURL(s.opts.Base, st.Mirror), Current: current})
		seen[st.Mirror] = true
		if current {
			holding[st.Mirror] = true
		}
	}
	body.Holding = len(holding)
	for _, m := range s.src.Config().Mirrors {
		if m.Enabled() && !seen[m.Name] {
			body.Unchecked = append(body.Unchecked, m.Name)
		}
	}
}
