package serve

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/pando-mirror/pando/internal/logdir"
)

// Options configures a Handler.
type Options struct {
	// Logger receives failures that are the server's fault (a file that
	// exists but cannot be read) at level Error and refused requests at
	// level Debug; nil discards them.
	Logger *slog.Logger
}

// Handler returns a handler that serves the tree in root read-only: files
// with GET and HEAD (ranges, strong ETags, conditional requests), directories
// as an HTML listing, and 404 for anything under .pando/local however it is
// spelt or linked. It answers other methods with 405 and malformed paths
// with 400. It keeps no state between requests, so one handler may serve any
// number of connections.
func Handler(root *os.Root, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &handler{root: root, log: log}
	if dir, err := root.Open("."); err == nil {
		h.dir = dir // for openDirect; without it every name is resolved step by step
	}
	return h
}

type handler struct {
	root *os.Root
	dir  *os.File // the root directory, open for as long as the handler
	log  *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodPost && r.URL.Path == batchPath {
		h.serveBatch(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, r, http.StatusMethodNotAllowed, nil)
		return
	}
	name, slash, err := requestName(r.URL)
	if err == nil {
		err = h.serve(w, r, name, slash)
	}
	if err != nil {
		h.fail(w, r, statusFor(err), err)
	}
}

// serve answers for name, or returns an error before writing anything.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, name string, slash bool) error {
	if isLocal(name) {
		return errLocal
	}
	if !slash {
		if f, fi, ok := openDirect(h.dir, name); ok { // the common case, without walking the path
			defer f.Close()
			return h.send(w, r, name, f, fi)
		}
	}
	real, fi, err := resolve(h.root, name)
	if err != nil {
		return err
	}
	if isLocal(real) {
		return errLocal
	}
	switch {
	case fi.IsDir() && !slash:
		redirectToDir(w, r)
		return nil
	case fi.IsDir():
		return h.serveDir(w, r, real)
	case fi.Mode().IsRegular() && !slash:
		return h.serveFile(w, r, real, fi)
	default: // a file asked for as a directory, a device, a FIFO, a socket
		return errNotFound
	}
}

// serveFile serves the regular file real, which resolve described as fi.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, real string, fi fs.FileInfo) error {
	f, st, err := h.openResolved(real, fi)
	if err != nil {
		return err
	}
	defer f.Close()
	return h.send(w, r, real, f, st)
}

// openResolved opens the regular file real, which resolve described as fi,
// and refuses it if it is another file by now. It returns the file and
// what its fstat said.
func (h *handler) openResolved(real string, fi fs.FileInfo) (*os.File, fs.FileInfo, error) {
	f, err := h.root.Open(real)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !os.SameFile(fi, st) || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, errNotFound // replaced since resolve looked
	}
	return f, st, nil
}

// openFile opens the regular file a GET for name would serve, and returns
// it with what its fstat said, or why there is none.
func (h *handler) openFile(name string) (*os.File, fs.FileInfo, error) {
	if isLocal(name) {
		return nil, nil, errLocal
	}
	if f, fi, ok := openDirect(h.dir, name); ok {
		return f, fi, nil
	}
	real, fi, err := resolve(h.root, name)
	if err != nil {
		return nil, nil, err
	}
	if isLocal(real) {
		return nil, nil, errLocal
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, errNotFound
	}
	return h.openResolved(real, fi)
}

// send serves f, the regular file at the canonical name real, which its
// fstat described as st.
func (h *handler) send(w http.ResponseWriter, r *http.Request, real string, f *os.File, st fs.FileInfo) error {
	hdr := w.Header()
	hdr.Set("Content-Type", contentType(real))
	hdr.Set("ETag", etag(st))
	if real == logdir.CheckpointPath || real == logdir.JournalPath {
		hdr.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, real, st.ModTime(), f)
	return nil
}

// etag returns a strong validator built from the file's inode, size and
// modification time (in nanoseconds), like Apache's default: it changes
// whenever a publisher or a sync replaces the file.
func etag(fi fs.FileInfo) string {
	return fmt.Sprintf(`"%x-%x-%x"`, fileID(fi), uint64(fi.Size()), uint64(fi.ModTime().UnixNano()))
}

// contentType returns the media type for a file name. The types common in
// software repositories are fixed here so that they do not depend on the
// host's mime.types; anything unknown is application/octet-stream, never
// sniffed from the content.
func contentType(name string) string {
	switch name {
	case logdir.CheckpointPath, logdir.JournalPath:
		return "text/plain; charset=utf-8"
	}
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".jar", ".war", ".ear":
		return "application/java-archive"
	case ".pom", ".xml":
		return "text/xml; charset=utf-8"
	case ".md5", ".sha1", ".sha256", ".sha512", ".txt":
		return "text/plain; charset=utf-8"
	case ".asc", ".sig":
		return "application/pgp-signature"
	case ".iso", ".img":
		return "application/octet-stream"
	case ".gz", ".tgz":
		return "application/gzip"
	case ".xz":
		return "application/x-xz"
	case ".zst":
		return "application/zstd"
	case ".json":
		return "application/json"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// redirectToDir sends a directory asked for without its trailing slash to
// the same path with one, keeping the query. The Location is relative, so it
// stays right behind a proxy that mounts the tree under a prefix.
func redirectToDir(w http.ResponseWriter, r *http.Request) {
	loc := "./" + path.Base(r.URL.EscapedPath()) + "/"
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusMovedPermanently)
}

// statusFor maps a refusal or a file system error to an HTTP status.
func statusFor(err error) int {
	switch {
	case errors.Is(err, errBadPath):
		return http.StatusBadRequest
	case errors.Is(err, errLocal), errors.Is(err, errEscapes), errors.Is(err, errTooDeep),
		errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR),
		errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.ENAMETOOLONG):
		return http.StatusNotFound
	case errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden
	default:
		return http.StatusInternalServerError
	}
}

// fail answers with a plain status page. The cause stays in the log: a
// client learns nothing about the tree's layout from it.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	if code == http.StatusInternalServerError {
		h.log.Error("serving a request failed", "path", r.URL.Path, "err", err)
	} else {
		h.log.Debug("request refused", "path", r.URL.Path, "status", code, "err", err)
	}
	http.Error(w, fmt.Sprintf("%d %s", code, http.StatusText(code)), code)
}
