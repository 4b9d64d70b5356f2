package stats

import "bytes"

// An Outcome is what a log line turned out to be.
type Outcome uint8

// The outcomes, in the order they are decided.
const (
	Download   Outcome = iota // a successful GET of an object: counted
	Malformed                 // not a line of the log's format
	NotGET                    // another method (HEAD, POST, ...)
	NotOK                     // a status other than 200 (and 206, see Parser.CountPartial)
	Partial                   // a 206 (Range) answer, not counted without CountPartial
	Metadata                  // a path under .pando/, the signed log
	NotObject                 // the root, a directory, or a path no object can have
	OutOfRange                // a day before 2000 or after tomorrow
	Machine                   // pando's own traffic: a checker's hash check, a mirror's sync

	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	"download", "malformed", "not_get", "not_ok", "partial", "metadata", "not_object", "out_of_range", "machine",
}

func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "unknown"
}

// A Parser turns log lines into downloads. Its zero value is not usable:
// set Format and the day range. It keeps scratch space between lines, so
// one Parser serves one goroutine.
type Parser struct {
	Format Format
	// CountPartial counts 206 (Partial Content) answers as downloads too.
	// Access logs do not record the Range asked for, so a client that
	// fetches a file in several ranges is counted once per range with it,
	// and a resumed download not at all without it.
	CountPartial bool
	First, Last  Day // downloads on other days are OutOfRange

	e     Entry
	buf   pathBuf
	cache map[string]resolved // trimmed target -> what it names
}

// resolved is what a request target was found to name.
type resolved struct {
	path []byte // for a Download
	o    Outcome
}

// Limits of the Parser's cache of resolved targets: popular objects are
// requested again and again, and a hit skips decoding and checking.
const (
	cacheMax       = 32 << 10 // entries; the cache starts over when full
	cacheMaxTarget = 512      // bytes in a target kept
)

// Line parses one log line (without its newline) and returns its outcome,
// and for a Download its day and the object's path, which is valid until
// the next call. It allocates nothing once its scratch space has grown to
// the longest path seen.
func (p *Parser) Line(line []byte) (Day, []byte, Outcome) {
	e := &p.e
	if err := ParseLine(line, p.Format, e); err != nil {
		return 0, nil, Malformed
	}
	if string(e.Method) != "GET" {
		return 0, nil, NotGET
	}
	switch {
	case e.Status == 206 && !p.CountPartial:
		return 0, nil, Partial
	case e.Status != 200 && e.Status != 206:
		return 0, nil, NotOK
	}
	path, o := p.object(e.Target)
	if o != Download {
		return 0, nil, o
	}
	d := e.Day()
	if d < p.First || d > p.Last {
		return 0, nil, OutOfRange
	}
	if machineAgent(e.Agent) {
		return 0, nil, Machine
	}
	return d, path, Download
}

// machineAgents are the user agents (the product before any "/version") of
// pando's own clients whose requests are not downloads: the checker
// fetching objects to hash them, and mirror sync and restore copying them.
// pando get, a person's download, is not among them.
var machineAgents = []string{"pando", "pando-check", "pando-sync"}

// machineAgent reports whether a logged user agent is one of machineAgents.
// The log escapes nothing in these names, so they compare as logged.
func machineAgent(agent []byte) bool {
	if i := bytes.IndexAny(agent, "/ "); i >= 0 {
		agent = agent[:i]
	}
	for _, a := range machineAgents {
		if string(agent) == a {
			return true
		}
	}
	return false
}

// object resolves a request target through the cache.
func (p *Parser) object(target []byte) ([]byte, Outcome) {
	target = trimTarget(target)
	if r, ok := p.cache[string(target)]; ok {
		return r.path, r.o
	}
	path, o := p.buf.resolve(target)
	if len(target) <= cacheMaxTarget {
		if p.cache == nil {
			p.cache = make(map[string]resolved)
		} else if len(p.cache) >= cacheMax {
			clear(p.cache)
		}
		r := resolved{o: o}
		if o == Download {
			r.path = bytes.Clone(path)
		}
		p.cache[string(target)] = r
	}
	return path, o
}

// A Tally counts log lines by outcome.
type Tally struct {
	Lines int64
	By    [numOutcomes]int64
}

// Add counts one line.
func (t *Tally) Add(o Outcome) {
	t.Lines++
	t.By[o]++
}

// Downloads returns the lines counted as downloads.
func (t *Tally) Downloads() int64 { return t.By[Download] }

// Merge adds u's counts to t's.
func (t *Tally) Merge(u Tally) {
	t.Lines += u.Lines
	for i, n := range u.By {
		t.By[i] += n
	}
}

// Map returns the counts by outcome name, for JSON.
func (t *Tally) Map() map[string]int64 {
	m := make(map[string]int64, numOutcomes)
	for i, n := range t.By {
		m[Outcome(i).String()] = n
	}
	return m
}
