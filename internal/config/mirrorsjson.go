package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// The Tails-style mirrors.json format, which client-side mirror selection
// (the Tails download page model) reads:
//
//	{"mirrors": [
//	  {"url_prefix": "https://mirror.example/tails/", "weight": 10,
//	   "email": "admin@mirror.example", "notes": "..."}
//	]}
//
// url_prefix (an http or https URL of the tree) is required; weight defaults
// to 100; email and notes are optional text. Other fields, at the top level
// or in an entry, are ignored.

// MaxMirrorsJSONSize bounds the mirrors.json that ParseMirrorsJSON accepts.
const MaxMirrorsJSONSize = 4 << 20

// A JSONMirror is one entry of a mirrors.json.
type JSONMirror struct {
	URLPrefix string `json:"url_prefix"` // normalized to end in "/"
	Weight    int    `json:"weight"`
	Email     string `json:"email,omitempty"`
	Notes     string `json:"notes,omitempty"`
}

// rawJSONMirror is one entry as written, so that absent fields are known.
type rawJSONMirror struct {
	URLPrefix *string `json:"url_prefix"`
	Weight    *int    `json:"weight"`
	Email     string  `json:"email"`
	Notes     string  `json:"notes"`
}

// ParseMirrorsJSON parses and validates the mirrors.json called name.
// Errors name it and the entry, by its index in the "mirrors" array.
func ParseMirrorsJSON(name string, data []byte) ([]JSONMirror, error) {
	ms, err := parseMirrorsJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ms, nil
}

func parseMirrorsJSON(data []byte) ([]JSONMirror, error) {
	if len(data) > MaxMirrorsJSONSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxMirrorsJSONSize)
	}
	var top struct {
		Mirrors *[]json.RawMessage `json:"mirrors"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, jsonError(err)
	}
	if top.Mirrors == nil {
		return nil, errors.New(`want an object with a "mirrors" array`)
	}
	if n := len(*top.Mirrors); n > MaxMirrors {
		return nil, fmt.Errorf("%d mirrors: more than %d", n, MaxMirrors)
	}
	ms := make([]JSONMirror, 0, len(*top.Mirrors))
	seen := map[string]int{}
	for i, raw := range *top.Mirrors {
		m, err := parseJSONMirror(raw)
		if err != nil {
			return nil, fmt.Errorf("mirrors[%d]: %w", i, err)
		}
		if j, dup := seen[m.URLPrefix]; dup {
			return nil, fmt.Errorf("mirrors[%d]: url_prefix %q: also in mirrors[%d]", i, m.URLPrefix, j)
		}
		seen[m.URLPrefix] = i
		ms = append(ms, m)
	}
	return ms, nil
}

func parseJSONMirror(data []byte) (JSONMirror, error) {
	var raw rawJSONMirror
	if err := json.Unmarshal(data, &raw); err != nil {
		return JSONMirror{}, jsonError(err)
	}
	if raw.URLPrefix == nil || *raw.URLPrefix == "" {
		return JSONMirror{}, errors.New("url_prefix: required")
	}
	u, err := checkURL(*raw.URLPrefix, "http", "https")
	if err != nil {
		return JSONMirror{}, fmt.Errorf("url_prefix %q: %w", *raw.URLPrefix, err)
	}
	m := JSONMirror{URLPrefix: u, Weight: DefaultWeight, Email: raw.Email, Notes: raw.Notes}
	if w := raw.Weight; w != nil {
		if *w < 0 || *w > MaxWeight {
			return JSONMirror{}, fmt.Errorf("weight %d: must be between 0 and %d", *w, MaxWeight)
		}
		m.Weight = *w
	}
	if len(m.Email) > maxTextLen {
		return JSONMirror{}, fmt.Errorf("email: longer than %d bytes", maxTextLen)
	}
	if len(m.Notes) > maxTextLen {
		return JSONMirror{}, fmt.Errorf("notes: longer than %d bytes", maxTextLen)
	}
	return m, nil
}

// jsonError turns a decoding error into one that names the field and the
// types involved, without Go type names.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := jsonKind(te.Type.Kind().String())
		if te.Field == "" {
			return fmt.Errorf("want %s, got JSON %s", want, te.Value)
		}
		return fmt.Errorf("%s: want %s, got JSON %s", te.Field, want, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "float64":
		return "a whole number"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return goKind
}

// ImportMirrors turns the entries of the mirrors.json called name into
// registry entries. Each gets a name derived from its host, made unique
// among existing and the new ones; the scheme of its url_prefix decides
// whether it becomes an http or https access point. An entry whose URL some
// existing mirror already has is refused.
func ImportMirrors(name string, entries []JSONMirror, existing []Mirror) ([]Mirror, error) {
	taken := map[string]bool{}
	urls := map[string]string{}
	for _, m := range existing {
		taken[m.Name] = true
		for _, a := range m.Access() {
			urls[a.URL] = m.Name
		}
	}
	var errs []error
	var ms []Mirror
	for i, e := range entries {
		if other, dup := urls[e.URLPrefix]; dup {
			errs = append(errs, fmt.Errorf("%s: mirrors[%d]: url_prefix %q: already in the registry as mirror %q", name, i, e.URLPrefix, other))
			continue
		}
		m, err := fromJSON(e, taken)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: mirrors[%d]: %w", name, i, err))
			continue
		}
		taken[m.Name] = true
		urls[e.URLPrefix] = m.Name
		ms = append(ms, m)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ms, nil
}

func fromJSON(e JSONMirror, taken map[string]bool) (Mirror, error) {
	u, err := url.Parse(e.URLPrefix)
	if err != nil {
		return Mirror{}, fmt.Errorf("url_prefix %q: %w", e.URLPrefix, err)
	}
	m := Mirror{Name: uniqueName(nameFromHost(u.Hostname()), taken), Weight: e.Weight, Contact: e.Email, Notes: e.Notes}
	switch u.Scheme {
	case "http":
		m.HTTP = e.URLPrefix
	case "https":
		m.HTTPS = e.URLPrefix
	default:
		return Mirror{}, fmt.Errorf("url_prefix %q: scheme must be http or https", e.URLPrefix)
	}
	return m, nil
}

// nameFromHost derives a mirror name from a host name: lower case, every
// run of other characters than a-z and 0-9 turned into one dash.
func nameFromHost(host string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(host) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	name := b.String()
	if len(name) > 50 { // leaves room for a "-NNN" suffix within 63 bytes
		name = strings.TrimRight(name[:50], "-")
	}
	if name == "" {
		name = "mirror"
	}
	return name
}

// uniqueName returns base, or base-2, base-3, … whichever is not taken.
func uniqueName(base string, taken map[string]bool) string {
	name := base
	for i := 2; taken[name]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	return name
}

// ExportMirrorsJSON writes the enabled mirrors that have an http or https
// access point as a Tails-style mirrors.json, preferring https.
func ExportMirrorsJSON(ms []Mirror) ([]byte, error) {
	out := struct {
		Mirrors []JSONMirror `json:"mirrors"`
	}{Mirrors: []JSONMirror{}}
	for _, m := range ms {
		prefix := m.HTTPS
		if prefix == "" {
			prefix = m.HTTP
		}
		if !m.Enabled() || prefix == "" {
			continue
		}
		out.Mirrors = append(out.Mirrors, JSONMirror{URLPrefix: prefix, Weight: m.Weight, Email: m.Contact, Notes: m.Notes})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("encode mirrors.json: %w", err)
	}
	return buf.Bytes(), nil
}
