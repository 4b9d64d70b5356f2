package redirect

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/config"
)

// Metalink v4 (RFC 5854) documents, one file each.
type metalink struct {
	XMLName   xml.Name `xml:"urn:ietf:params:xml:ns:metalink metalink"`
	Generator string   `xml:"generator"`
	Published string   `xml:"published"`
	File      mlFile   `xml:"file"`
}

type mlFile struct {
	Name string  `xml:"name,attr"`
	Size int64   `xml:"size"`
	Hash mlHash  `xml:"hash"`
	URLs []mlURL `xml:"url"`
}

type mlHash struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

type mlURL struct {
	Location string `xml:"location,attr,omitempty"`
	Priority int    `xml:"priority,attr"`
	URL      string `xml:",chardata"`
}

// metalink answers /path.meta4: every candidate in preference order
// (priority 1 first), then the fall-back, so a Metalink client can spread a
// download over mirrors and check the whole file's SHA-256.
func (h *Redirector) metalink(w http.ResponseWriter, r *http.Request, m *availability.Map, obj availability.Object) {
	l := h.list(r, m, obj)
	doc := metalink{
		Generator: "pando",
		Published: m.Created().UTC().Format(time.RFC3339),
		File: mlFile{
			Name: path.Base(obj.Path),
			Size: obj.Size,
			Hash: mlHash{Type: "sha-256", Value: hex.EncodeToString(obj.SHA256[:])},
		},
	}
	for _, e := range l.Mirrors {
		doc.File.URLs = append(doc.File.URLs, mlURL{Location: strings.ToLower(e.Country), Priority: e.Priority, URL: e.URL})
	}
	if l.Fallback != "" {
		doc.File.URLs = append(doc.File.URLs, mlURL{Priority: len(l.Mirrors) + 1, URL: l.Fallback})
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		http.Error(w, "encoding the metalink failed", http.StatusInternalServerError)
		return
	}
	buf.WriteByte('\n')
	hdr := w.Header()
	hdr["Content-Type"] = []string{"application/metalink4+xml"}
	hdr["Cache-Control"] = []string{noStore}
	w.Write(buf.Bytes())
}

// A JSONMirror is one entry of /mirrors.json, in the fields of the Tails
// download page's mirrors.json, with the mirror's place added.
type JSONMirror struct {
	URLPrefix string `json:"url_prefix"`
	Weight    int    `json:"weight"`
	Country   string `json:"country,omitempty"`
	Continent string `json:"continent,omitempty"`
}

// writeMirrorsJSON answers /mirrors.json: every healthy mirror with a
// reachable https access point (or else http), for client-side selection.
// It may be cached for a minute.
func writeMirrorsJSON(w http.ResponseWriter, m *availability.Map) {
	out := struct {
		Mirrors []JSONMirror `json:"mirrors"`
	}{Mirrors: []JSONMirror{}}
	for _, mi := range m.HealthyMirrors() {
		if prefix := webPrefix(&mi); prefix != "" {
			out.Mirrors = append(out.Mirrors, JSONMirror{URLPrefix: prefix, Weight: mi.Weight, Country: mi.Country, Continent: mi.Continent})
		}
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		http.Error(w, "encoding mirrors.json failed", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr["Content-Type"] = []string{"application/json"}
	hdr["Cache-Control"] = []string{"public, max-age=60"}
	hdr["Access-Control-Allow-Origin"] = []string{"*"}
	w.Write(append(data, '\n'))
}

// webPrefix returns the reachable https prefix of mi, else its reachable
// http prefix, else "".
func webPrefix(mi *availability.Mirror) string {
	prefix := ""
	for _, a := range mi.Access {
		switch {
		case !a.Reachable:
		case a.Kind == config.AccessHTTPS:
			return a.URL
		case a.Kind == config.AccessHTTP:
			prefix = a.URL
		}
	}
	return prefix
}
