package serve

import (
	"bytes"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A listed entry of a directory listing.
type listed struct {
	name  string
	dir   bool
	size  int64
	mtime time.Time
}

// serveDir serves an HTML listing of the directory real (a canonical name).
func (h *handler) serveDir(w http.ResponseWriter, r *http.Request, real string) error {
	f, err := h.root.Open(real)
	if err != nil {
		return err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return err
	}
	page := renderListing(r.URL.Path, h.listEntries(real, entries))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(page))
	return nil
}

// listEntries describes the entries of the directory real, sorted by name.
// It leaves out the local state and any symlink that cannot be served
// (dangling, leading outside the tree or into the local state); a symlink
// that can be is listed as what it leads to.
func (h *handler) listEntries(real string, entries []fs.DirEntry) []listed {
	out := make([]listed, 0, len(entries))
	for _, e := range entries {
		name := path.Join(real, e.Name())
		if isLocal(name) {
			continue
		}
		fi, err := e.Info()
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			var target string
			target, fi, err = resolve(h.root, name)
			if err == nil && isLocal(target) {
				continue
			}
		}
		if err != nil {
			continue // removed since ReadDir, or a symlink that leads nowhere servable
		}
		out = append(out, listed{name: e.Name(), dir: fi.IsDir(), size: fi.Size(), mtime: fi.ModTime()})
	}
	slices.SortFunc(out, func(a, b listed) int { return strings.Compare(a.name, b.name) })
	return out
}

// renderListing returns the HTML page listing the directory at urlPath.
// Every name is escaped for its context, and links are relative with a "./"
// prefix so that no name can be read as a URL scheme.
func renderListing(urlPath string, entries []listed) []byte {
	title := html.EscapeString("Index of " + strings.ToValidUTF8(urlPath, "\uFFFD"))
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>" + title + "</title></head>\n")
	b.WriteString("<body>\n<h1>" + title + "</h1>\n<table>\n")
	b.WriteString("<tr><th>Name</th><th>Last modified (UTC)</th><th>Size</th></tr>\n")
	if urlPath != "/" {
		b.WriteString("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n")
	}
	for _, e := range entries {
		href := "./" + url.PathEscape(e.name)
		text := strings.ToValidUTF8(e.name, "\uFFFD")
		size := strconv.FormatInt(e.size, 10)
		if e.dir {
			href, text, size = href+"/", text+"/", "-"
		}
		b.WriteString("<tr><td><a href=\"" + html.EscapeString(href) + "\">" + html.EscapeString(text) + "</a></td>")
		b.WriteString("<td>" + e.mtime.UTC().Format("2006-01-02 15:04:05") + "</td><td>" + size + "</td></tr>\n")
	}
	b.WriteString("</table>\n</body>\n</html>\n")
	return b.Bytes()
}
