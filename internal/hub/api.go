package hub

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/store"
)

// The JSON API, version 1. Field names are part of the contract.

type apiMirror struct {
	Name       string           `json:"name"`
	Enabled    bool             `json:"enabled"`
	Weight     int              `json:"weight"`
	Country    string           `json:"country,omitempty"`
	Contact    string           `json:"contact,omitempty"`
	Access     []apiAccess      `json:"access"`
	Checked    *time.Time       `json:"checked"`
	OK         bool             `json:"ok"`
	Problems   []apiProblem     `json:"problems"`
	History    []apiHistoryItem `json:"history,omitempty"`
	Registered bool             `json:"registered"` // still in hub.toml
}

type apiAccess struct {
	Kind       string     `json:"kind"`
	URL        string     `json:"url"`
	Reachable  bool       `json:"reachable"`
	OK         bool       `json:"ok"`
	Records    *int64     `json:"records"`
	LagSeconds int64      `json:"lag_seconds"`
	Complete   float64    `json:"complete"`
	TLSExpiry  *time.Time `json:"tls_expiry,omitempty"`
}

type apiProblem struct {
	Kind      string    `json:"kind"`
	Access    string    `json:"access"`
	Path      string    `json:"path,omitempty"`
	Expected  string    `json:"expected,omitempty"`
	Got       string    `json:"got,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

type apiHistoryItem struct {
	Checked time.Time   `json:"checked"`
	Access  []apiAccess `json:"access"`
}

type apiObject struct {
	Path      string           `json:"path"`
	Record    int64            `json:"record"`
	Size      int64            `json:"size"`
	SHA256    string           `json:"sha256"`
	Published time.Time        `json:"published"`
	Mirrors   []apiObjectState `json:"mirrors"`
}

type apiObjectState struct {
	Mirror      string     `json:"mirror"`
	Access      string     `json:"access"`
	Holds       bool       `json:"holds"` // verified to hold the current version
	SizeChecked *time.Time `json:"size_checked"`
	HashChecked *time.Time `json:"hash_checked"`
}

func (h *Hub) apiMirrors(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/api/v1/mirrors")
	name = strings.TrimPrefix(name, "/")
	cfg := h.config()
	latest, err := h.store.LatestResults(r.Context())
	if err != nil {
		h.apiError(w, http.StatusInternalServerError, err)
		return
	}
	byName := make(map[string]store.MirrorResult, len(latest))
	for _, m := range latest {
		byName[m.Mirror] = m
	}
	if name == "" {
		out := []apiMirror{}
		for _, m := range cfg.Mirrors {
			out = append(out, mirrorJSON(m, byName[m.Name], true))
		}
		writeJSON(w, map[string]any{"mirrors": out})
		return
	}
	m, ok := cfg.Mirror(name)
	if !ok {
		h.apiError(w, http.StatusNotFound, errors.New("no mirror named "+name))
		return
	}
	out := mirrorJSON(m, byName[name], true)
	hist, err := h.store.MirrorHistory(r.Context(), name, time.Now().Add(-7*24*time.Hour))
	if err != nil {
		h.apiError(w, http.StatusInternalServerError, err)
		return
	}
	for _, res := range hist {
		out.History = append(out.History, apiHistoryItem{Checked: res.Checked, Access: accessJSON(res.Access)})
	}
	writeJSON(w, out)
}

func mirrorJSON(m config.Mirror, res store.MirrorResult, registered bool) apiMirror {
	out := apiMirror{Name: m.Name, Enabled: m.Enabled(), Weight: m.Weight, Country: m.Country, Contact: m.Contact,
		Access: accessJSON(res.Access), Problems: []apiProblem{}, Registered: registered}
	for _, p := range res.Problems {
		out.Problems = append(out.Problems, apiProblem{Kind: string(p.Kind), Access: p.Access, Path: p.Path,
			Expected: p.Expected, Got: p.Got, FirstSeen: p.FirstSeen, LastSeen: p.LastSeen})
	}
	if !res.Checked.IsZero() {
		t := res.Checked
		out.Checked = &t
		out.OK = true
		for _, a := range res.Access {
			out.OK = out.OK && a.OK
		}
	}
	return out
}

func accessJSON(as []store.AccessResult) []apiAccess {
	out := []apiAccess{}
	for _, a := range as {
		x := apiAccess{Kind: a.Access, URL: a.URL, Reachable: a.Reachable, OK: a.OK, Records: a.Records,
			LagSeconds: int64(a.Lag.Seconds()), Complete: a.Complete}
		if !a.TLSExpiry.IsZero() {
			t := a.TLSExpiry
			x.TLSExpiry = &t
		}
		out = append(out, x)
	}
	return out
}

func (h *Hub) apiObjects(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("path")
	if err := journal.CheckPath(p); err != nil {
		h.apiError(w, http.StatusBadRequest, err)
		return
	}
	origin := h.origin.Load()
	if origin == nil {
		h.apiError(w, http.StatusServiceUnavailable, errors.New("the origin has not been read yet"))
		return
	}
	e, ok := origin.State.Lookup(p)
	if !ok || e.Kind != journal.File {
		h.apiError(w, http.StatusNotFound, errors.New("no live file "+p+" in the signed log"))
		return
	}
	states, err := h.store.ObjectMirrors(r.Context(), p)
	if err != nil {
		h.apiError(w, http.StatusInternalServerError, err)
		return
	}
	out := apiObject{Path: p, Record: e.Index, Size: e.Size, SHA256: hex.EncodeToString(e.SHA256[:]),
		Published: time.Unix(e.Time, 0).UTC(), Mirrors: []apiObjectState{}}
	for _, s := range states {
		out.Mirrors = append(out.Mirrors, apiObjectState{Mirror: s.Mirror, Access: s.Access,
			Holds: s.OK && s.Record == e.Index, SizeChecked: optTime(s.SizeChecked), HashChecked: optTime(s.HashChecked)})
	}
	writeJSON(w, out)
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func (h *Hub) apiError(w http.ResponseWriter, code int, err error) {
	if code >= 500 {
		h.log.Error("api", "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
