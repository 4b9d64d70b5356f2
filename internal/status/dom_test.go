package status

import (
	"html"
	"regexp"
	"strings"
)

// Helpers that read what a person sees from a page or from Chromium's
// --dump-dom output, without an HTML parser: both are well-formed markup
// with attribute values in double quotes.

var (
	headRE     = regexp.MustCompile(`(?s)<head>.*?</head>`)
	svgRE      = regexp.MustCompile(`(?s)<svg\b.*?</svg>`)
	hiddenRE   = regexp.MustCompile(`(?s)<(\w+)[^>]*class="visually-hidden"[^>]*>.*?</(\w+)>`)
	tagRE      = regexp.MustCompile(`</?(\w+)[^>]*>`)
	spaceRE    = regexp.MustCompile(`\s+`)
	rowRE      = regexp.MustCompile(`<tr [^>]*data-mirror="([^"]*)"`)
	rowBlockRE = regexp.MustCompile(`(?s)<tr [^>]*data-mirror="[^"]*".*?</tr>`)
)

// inline elements do not separate words.
var inline = map[string]bool{"a": true, "span": true, "strong": true, "em": true, "code": true, "time": true, "b": true, "i": true, "small": true}

// visibleText returns the text a sighted reader sees, in document order,
// with runs of white space collapsed: no head, no SVG, nothing visually
// hidden.
func visibleText(page string) string {
	s := headRE.ReplaceAllString(page, " ")
	s = svgRE.ReplaceAllString(s, " ")
	s = hiddenRE.ReplaceAllString(s, " ")
	s = tagRE.ReplaceAllStringFunc(s, func(tag string) string {
		if inline[strings.ToLower(tagRE.FindStringSubmatch(tag)[1])] {
			return ""
		}
		return " "
	})
	return strings.TrimSpace(spaceRE.ReplaceAllString(html.UnescapeString(s), " "))
}

// rowOrder returns the mirrors of the overview's table, top to bottom.
func rowOrder(page string) []string {
	var names []string
	for _, m := range rowRE.FindAllStringSubmatch(page, -1) {
		names = append(names, html.UnescapeString(m[1]))
	}
	return names
}

// row returns the markup of the table row of mirror name, "" if none.
func row(page, name string) string {
	for _, r := range rowBlockRE.FindAllString(page, -1) {
		if strings.Contains(r, `data-mirror="`+name+`"`) {
			return r
		}
	}
	return ""
}
