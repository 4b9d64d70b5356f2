package redirect

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"math"
	"mime"
	"net/http"
	"strings"

	"github.com/pando-mirror/pando/internal/availability"
)

// mirrorlistFormat reports whether the request asks for a mirror list and
// in which format: "json" for ?mirrorlist=json or an Accept header that
// names application/json, "html" otherwise.
func mirrorlistFormat(r *http.Request) (string, bool) {
	if r.URL.RawQuery == "" {
		return "", false
	}
	q := r.URL.Query()
	if !q.Has("mirrorlist") {
		return "", false
	}
	if q.Get("mirrorlist") == "json" || acceptsJSON(r.Header.Get("Accept")) {
		return "json", true
	}
	return "html", true
}

// acceptsJSON reports whether an Accept header names application/json
// (with a non-zero quality) before any HTML type.
func acceptsJSON(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		switch mt {
		case "application/json":
			return true
		case "text/html", "application/xhtml+xml":
			return false
		}
	}
	return false
}

// A ListEntry is one mirror of a mirror list, in preference order.
type ListEntry struct {
	Name       string   `json:"name"`
	URL        string   `json:"url"`
	Country    string   `json:"country,omitempty"`
	Continent  string   `json:"continent,omitempty"`
	DistanceKm *float64 `json:"distance_km,omitempty"`
	Weight     int      `json:"weight"`
	Priority   int      `json:"priority"`
	Tier       string   `json:"tier"`
}

// A ListExclusion is a mirror left out of a mirror list, and why.
type ListExclusion struct {
	Name   string `json:"name"`
	Reason Reason `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// A List is the JSON mirror list of one object (docs/REDIRECT.md).
type List struct {
	Path     string          `json:"path"`
	Size     int64           `json:"size"`
	SHA256   string          `json:"sha256"`
	Fallback string          `json:"fallback,omitempty"`
	Mirrors  []ListEntry     `json:"mirrors"`
	Excluded []ListExclusion `json:"excluded"`
}

func (h *Redirector) list(r *http.Request, m *availability.Map, obj availability.Object) List {
	client := h.geo.Lookup(ClientIP(r, h.opts.TrustedProxies))
	chosen, excluded := Select(m, obj, client, requestScheme(r, h.opts.TrustedProxies), h.opts.SelectOptions)
	l := List{Path: obj.Path, Size: obj.Size, SHA256: hex.EncodeToString(obj.SHA256[:]),
		Mirrors: make([]ListEntry, 0, len(chosen)), Excluded: make([]ListExclusion, 0, len(excluded))}
	if prefix := h.fallbackPrefix(m); prefix != "" {
		l.Fallback = objectURL(prefix, obj.Path)
	}
	for i, c := range chosen {
		e := ListEntry{Name: c.Mirror.Name, URL: c.URL, Country: c.Mirror.Country, Continent: c.Mirror.Continent,
			Weight: c.Mirror.Weight, Priority: i + 1, Tier: c.Tier.String()}
		if c.HasDistance {
			d := math.Round(c.DistanceKm)
			e.DistanceKm = &d
		}
		l.Mirrors = append(l.Mirrors, e)
	}
	for _, x := range excluded {
		l.Excluded = append(l.Excluded, ListExclusion{Name: x.Mirror, Reason: x.Reason, Detail: x.Detail})
	}
	return l
}

// fallbackPrefix returns the fall-back URL prefix, "" if there is none.
func (h *Redirector) fallbackPrefix(m *availability.Map) string {
	if h.opts.Fallback != "" || m == nil {
		return h.opts.Fallback
	}
	return m.Fallback()
}

// mirrorlist answers ?mirrorlist for obj.
func (h *Redirector) mirrorlist(w http.ResponseWriter, r *http.Request, m *availability.Map, obj availability.Object, format string) {
	l := h.list(r, m, obj)
	hdr := w.Header()
	hdr["Cache-Control"] = []string{noStore}
	hdr["Vary"] = []string{"Accept"}
	var buf bytes.Buffer
	if format == "json" {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(l); err != nil {
			http.Error(w, "encoding the mirror list failed", http.StatusInternalServerError)
			return
		}
		hdr["Content-Type"] = []string{"application/json"}
	} else {
		if err := h.page.Execute(&buf, l); err != nil {
			http.Error(w, "rendering the mirror list failed", http.StatusInternalServerError)
			return
		}
		hdr["Content-Type"] = []string{"text/html; charset=utf-8"}
	}
	w.Write(buf.Bytes())
}

// listPage is the HTML mirror list. html/template escapes every value for
// its context, URLs in href included.
const listPage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mirrors of {{.Path}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #ddd; }
td.num { text-align: right; }
code { word-break: break-all; }
</style>
</head>
<body>
<h1>Mirrors of <code>{{.Path}}</code></h1>
<p>{{.Size}} bytes, SHA-256 <code>{{.SHA256}}</code></p>
{{if .Mirrors}}<table>
<thead><tr><th>#</th><th>Mirror</th><th>Country</th><th>Distance</th><th>Weight</th><th>URL</th></tr></thead>
<tbody>
{{range .Mirrors}}<tr><td class="num">{{.Priority}}</td><td>{{.Name}}</td><td>{{.Country}}</td><td class="num">{{with .DistanceKm}}{{.}} km{{end}}</td><td class="num">{{.Weight}}</td><td><a href="{{.URL}}">{{.URL}}</a></td></tr>
{{end}}</tbody>
</table>
{{else}}<p>No mirror is verified to hold this version yet.</p>
{{end}}{{with .Fallback}}<p>Fall-back: <a href="{{.}}">{{.}}</a></p>
{{end}}{{if .Excluded}}<h2>Not used for this file</h2>
<ul>
{{range .Excluded}}<li>{{.Name}}: {{.Reason}}{{with .Detail}} ({{.}}){{end}}</li>
{{end}}</ul>
{{end}}</body>
</html>
`

func parseListPage() *template.Template {
	return template.Must(template.New("mirrorlist").Parse(listPage))
}
