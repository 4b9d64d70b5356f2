package serve

import (
	"bufio"
	"errors"
	"io"
	"net/http"

	"github.com/pando-mirror/pando/internal/batch"
)

// batchPath is the URL path of batch requests under the handler.
const batchPath = "/" + batch.Path

// serveBatch answers a batch request (package batch): every path it names,
// in order, each opened as a GET for it would be, so that a batch serves
// exactly the files GET does and nothing of the local state. A file that
// shrinks while it is sent cannot be framed any more: the answer is cut off
// there, so that the client sees it broken and fetches the rest alone.
func (h *handler) serveBatch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(batch.MaxRequest)))
	if err != nil {
		code := http.StatusBadRequest
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			code = http.StatusRequestEntityTooLarge
		}
		h.fail(w, r, code, err)
		return
	}
	paths, err := batch.ParseRequest(body)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Content-Type", batch.ContentType)
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriterSize(w, 64<<10)
	out := batch.NewWriter(bw)
	for _, p := range paths {
		f, fi, err := h.openFile(p)
		if err != nil {
			if statusFor(err) == http.StatusInternalServerError {
				h.log.Error("serving a batch entry failed", "path", p, "err", err)
			}
			err = out.Missing()
		} else {
			err = out.File(fi.Size(), f)
			f.Close()
		}
		if err != nil {
			if r.Context().Err() == nil {
				h.log.Error("batch answer cut off", "path", p, "err", err)
			}
			panic(http.ErrAbortHandler)
		}
	}
	if err := bw.Flush(); err != nil {
		panic(http.ErrAbortHandler)
	}
}
