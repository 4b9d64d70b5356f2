package stats

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/pando-mirror/pando/internal/store"
)

// IntakeHandler returns the handler of POST /api/v1/stats, where mirrors
// report their downloads (see Batch). The request carries the mirror's
// token from hub.toml as "Authorization: Bearer TOKEN"; tokens returns the
// token of a mirror in the registry (ok false, or an empty token, for a
// mirror that may not report). A token is good only for its own mirror.
//
// A batch is checked whole (Batch.Check, with now bounding the days) and
// stored in one transaction, or refused with nothing stored: 400 for a bad
// batch (the error names the entry), 401 without a token, 403 for a token
// that is not the mirror's, 413 for a body over MaxBatchBytes, 415 for a
// body that is not JSON. A batch whose ID the mirror sent before is
// answered 200 "already counted" and adds nothing. Answers are JSON:
// {"status": "counted"|"already counted", "batch_id", "counts",
// "downloads"} or {"error": "..."}.
func IntakeHandler(st store.Store, tokens func(mirror string) (token string, ok bool), now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	return &intake{st: st, tokens: tokens, now: now}
}

type intake struct {
	st     store.Store
	tokens func(string) (string, bool)
	now    func() time.Time
}

func (h *intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST to report statistics")
		return
	}
	token, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pando stats"`)
		writeError(w, http.StatusUnauthorized, `no token: send the mirror's token as "Authorization: Bearer TOKEN"`)
		return
	}
	b, code, err := decodeBatch(w, r)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	if code, err := h.authorize(b.Mirror, token); err != nil {
		writeError(w, code, err.Error())
		return
	}
	now := h.now()
	if err := b.Check(now); err != nil {
		writeError(w, http.StatusBadRequest, "bad batch: "+err.Error())
		return
	}
	dup, err := h.st.AddStats(r.Context(), storeBatch(b, now))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "the batch was not stored: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, answer(b, dup))
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// decodeBatch reads a JSON batch strictly: one object, no unknown fields,
// at most MaxBatchBytes. On error it returns the status to answer.
func decodeBatch(w http.ResponseWriter, r *http.Request) (*Batch, int, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType, errors.New(`send the batch as "Content-Type: application/json"`)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBatchBytes))
	dec.DisallowUnknownFields()
	var b Batch
	err := dec.Decode(&b)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			return &b, 0, nil
		} else if err == nil {
			err = errors.New("data after the batch")
		}
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("batch larger than %d bytes: send fewer counts at a time", int64(MaxBatchBytes))
	}
	return nil, http.StatusBadRequest, fmt.Errorf("bad batch: %w", err)
}

// authorize checks that token is mirror's own.
func (h *intake) authorize(mirror, token string) (int, error) {
	if !ValidMirrorName(mirror) {
		return http.StatusBadRequest, fmt.Errorf("bad batch: mirror %.64q: want the mirror's name in the registry", mirror)
	}
	want, ok := h.tokens(mirror)
	if !ok || want == "" {
		return http.StatusForbidden, fmt.Errorf("mirror %q is not in the hub's registry or has no token", mirror)
	}
	a, b := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return http.StatusForbidden, fmt.Errorf("the token presented is not mirror %q's", mirror)
	}
	return 0, nil
}

func storeBatch(b *Batch, received time.Time) store.StatBatch {
	sb := store.StatBatch{Source: store.StatsFromMirror, Reporter: b.Mirror, ID: b.BatchID, Received: received,
		Counts: make([]store.StatCount, len(b.Counts))}
	for i, c := range b.Counts {
		sb.Counts[i] = store.StatCount{Day: c.Day, Path: c.Path, Mirror: b.Mirror, Country: c.Country, Downloads: c.Downloads}
	}
	return sb
}

func answer(b *Batch, dup bool) intakeAnswer {
	if dup {
		return intakeAnswer{Status: statusAlready, BatchID: b.BatchID}
	}
	a := intakeAnswer{Status: statusCounted, BatchID: b.BatchID, Counts: len(b.Counts)}
	for _, c := range b.Counts {
		a.Downloads += c.Downloads
	}
	return a
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
