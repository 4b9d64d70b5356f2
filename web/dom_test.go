package web

import (
	"html"
	"regexp"
	"strings"
)

// Chromium's --dump-dom output is serialized HTML: every attribute value in
// double quotes, with & and " escaped. These helpers read the few things the
// tests look at from it, without an HTML parser.

var (
	startTag  = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s=/>]+(?:="[^"]*")?)*)\s*/?>([^<]*)`)
	attribute = regexp.MustCompile(`\s+([^\s=/>]+)(?:="([^"]*)")?`)
)

// An element is one start tag from a dumped DOM, with the text up to the
// next tag.
type element struct {
	tag   string
	attrs map[string]string
	text  string
}

// elements returns the elements of a dumped DOM in document order.
func elements(dom string) []element {
	var els []element
	for _, m := range startTag.FindAllStringSubmatch(dom, -1) {
		el := element{tag: strings.ToLower(m[1]), attrs: map[string]string{}, text: html.UnescapeString(m[3])}
		for _, a := range attribute.FindAllStringSubmatch(m[2], -1) {
			el.attrs[strings.ToLower(a[1])] = html.UnescapeString(a[2])
		}
		els = append(els, el)
	}
	return els
}

// A page is what the tests read from a dumped DOM.
type page struct {
	state string             // <html data-pando-state>
	byID  map[string]element // elements with an id
	items []string           // the text of each <li>
}

func parsePage(dom string) page {
	p := page{byID: map[string]element{}}
	for _, el := range elements(dom) {
		switch {
		case el.tag == "html":
			p.state = el.attrs["data-pando-state"]
		case el.tag == "li":
			p.items = append(p.items, el.text)
		}
		if id, ok := el.attrs["id"]; ok {
			p.byID[id] = el
		}
	}
	return p
}

// href returns the href of the element with id, or a note that it is missing.
func (p page) href(id string) string {
	el, ok := p.byID[id]
	if !ok {
		return "(no element #" + id + ")"
	}
	return el.attrs["href"]
}
