package redirect

import "net/http"

// An Answer is where the Handler sent a GET or HEAD of an object: what
// counting redirects (download statistics, metrics) needs, so that no
// counter has to look the object up again or read the mirror back out of
// the Location.
type Answer struct {
	Path    string // the object's path in the tree, through the origin's symlinks
	Mirror  string // the mirror the client was sent to; "" for the fall-back
	Country string // the client's country code, "" when not known
}

// A Recorder is a ResponseWriter, or a writer wrapped by one, that wants
// the Handler's Answer. Before the Handler writes the header of an answer
// to a request for an object, it calls RecordAnswer on the writer it was
// given and on every writer under it (through Unwrap methods, as
// http.ResponseController finds them) that implements Recorder. Requests
// that are not for an object of the map get no call.
type Recorder interface {
	RecordAnswer(Answer)
}

// maxWrappers bounds the walk down a chain of wrapped writers.
const maxWrappers = 16

// RecordAnswer gives a to every Recorder in w's chain of writers, as the
// Handler does.
func RecordAnswer(w http.ResponseWriter, a Answer) {
	for range maxWrappers {
		if rec, ok := w.(Recorder); ok {
			rec.RecordAnswer(a)
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		if w = u.Unwrap(); w == nil {
			return
		}
	}
}
