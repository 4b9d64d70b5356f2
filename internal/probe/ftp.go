package probe

// The ftp prober uses github.com/jlaffaye/ftp. One recursive walk of the
// tree (MLSD per directory, LIST when the server does not support MLSD)
// answers Stat; RETR serves Open and Get. Every connection, control and
// data, goes through a dial function here that bounds each read and write
// by a deadline (HeaderTimeout on the control connection, IdleTimeout on
// data connections), caps the bytes a listing may read, and closes when the
// caller's context ends. Login is anonymous unless the URL has a user.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jlaffaye/ftp"
)

// maxListDepth bounds the directory nesting an FTP walk descends.
const maxListDepth = 64

var errListTooLong = fmt.Errorf("%w: listing longer than %d bytes", ErrProtocol, maxListBytes)

type ftpProber struct {
	base       *url.URL
	addr       string // host:port
	dir        string // the base path, ending in "/"
	user, pass string
	cfg        Config
	listed
}

func newFTP(u *url.URL, cfg Config) *ftpProber {
	p := &ftpProber{base: u, dir: u.Path, user: "anonymous", pass: "anonymous@", cfg: cfg}
	p.addr = u.Host
	if u.Port() == "" {
		p.addr = net.JoinHostPort(u.Hostname(), "21")
	}
	if u.User != nil {
		p.user = u.User.Username()
		p.pass, _ = u.User.Password()
	}
	p.listed = listed{list: p.List, name: p.objectURL}
	return p
}

func (p *ftpProber) Kind() string { return "ftp" }

func (p *ftpProber) Close() error { return nil }

// objectURL names an object in errors, without the password.
func (p *ftpProber) objectURL(path string) string {
	u := *p.base
	u.User = nil
	return u.String() + escapePath(path)
}

// Stat answers from one walk of the tree, made on the first call.
func (p *ftpProber) Stat(ctx context.Context, paths []string, fn func(Stat)) error {
	return p.stat(ctx, paths, fn)
}

// List walks the tree under the base and returns its regular files.
func (p *ftpProber) List(ctx context.Context) ([]Stat, error) {
	list, err := p.list(ctx, true)
	if errors.Is(err, errNoMLSD) {
		list, err = p.list(ctx, false)
	}
	return list, err
}

// errNoMLSD marks a server that advertised MLSD but refused it.
var errNoMLSD = errors.New("MLSD refused")

// list walks the tree depth first on one connection, with MLSD if mlsd
// and the server advertises it, LIST otherwise.
func (p *ftpProber) list(ctx context.Context, mlsd bool) ([]Stat, error) {
	s, err := p.connect(ctx, mlsd, maxListBytes)
	if err != nil {
		return nil, err
	}
	defer s.close()
	type dir struct {
		rel   string
		depth int
	}
	var out []Stat
	stack := []dir{{"", 0}}
	for seen := 0; len(stack) > 0; {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		entries, err := s.c.List(p.dir + d.rel)
		if err != nil {
			if mlsd && d.rel == "" && isCode(err, 500, 501, 502, 504) {
				return nil, errNoMLSD
			}
			return nil, p.opErr(ctx, "LIST", d.rel, err)
		}
		if seen += len(entries); seen > maxListEntries {
			return nil, fmt.Errorf("%s: %w: more than %d entries", p.objectURL(""), ErrProtocol, maxListEntries)
		}
		for _, e := range entries {
			rel := d.rel + e.Name
			switch {
			case e.Name == "." || e.Name == ".." || strings.Contains(e.Name, "/"):
			case e.Type == ftp.EntryTypeFolder && d.depth >= maxListDepth:
				return nil, fmt.Errorf("%s: %w: deeper than %d directories", p.objectURL(rel), ErrProtocol, maxListDepth)
			case e.Type == ftp.EntryTypeFolder:
				stack = append(stack, dir{rel + "/", d.depth + 1})
			case e.Type == ftp.EntryTypeFile && checkPath(rel) == nil && e.Size <= math.MaxInt64:
				out = append(out, Stat{Path: rel, Size: int64(e.Size)})
			}
		}
	}
	return out, nil
}

// Open starts a RETR of one object; closing the reader ends the session.
func (p *ftpProber) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	s, err := p.connect(ctx, false, -1)
	if err != nil {
		return nil, err
	}
	resp, err := s.c.Retr(p.dir + path)
	if err != nil {
		s.close()
		return nil, p.opErr(ctx, "RETR", path, err)
	}
	return &ftpBody{p: p, ctx: ctx, s: s, resp: resp, path: path}, nil
}

// Get reads an object of at most limit bytes.
func (p *ftpProber) Get(ctx context.Context, path string, limit int64) ([]byte, error) {
	body, err := p.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, tooBig, err := readLimited(body, limit)
	if tooBig {
		return nil, fmt.Errorf("RETR %s: %w: larger than %d bytes", p.objectURL(path), ErrProtocol, limit)
	}
	return data, err // a body error names the object
}

// ftpBody is the data connection of a RETR.
type ftpBody struct {
	p    *ftpProber
	ctx  context.Context
	s    *ftpSession
	resp *ftp.Response
	path string
}

func (b *ftpBody) Read(buf []byte) (int, error) {
	n, err := b.resp.Read(buf)
	if err != nil && err != io.EOF {
		err = b.p.opErr(b.ctx, "RETR", b.path, err)
	}
	return n, err
}

func (b *ftpBody) Close() error {
	err := b.resp.Close()
	b.s.close()
	if err != nil {
		return b.p.opErr(b.ctx, "RETR", b.path, err)
	}
	return nil
}

// opErr names and classifies a failed FTP operation on path: 550 is
// ErrNotFound, 421 and 530 (service unavailable, login refused)
// ErrUnreachable, as is a refused login; other replies ErrProtocol, network
// failures by classify.
func (p *ftpProber) opErr(ctx context.Context, op, path string, err error) error {
	u := p.objectURL(path)
	var te *textproto.Error
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s %s: %w", op, u, ctxErr(ctx))
	case errors.Is(err, errListTooLong):
		return fmt.Errorf("%s %s: %w", op, u, err)
	case isCode(err, 550):
		return fmt.Errorf("%s %s: %w: %w", op, u, ErrNotFound, err)
	case isCode(err, 421, 530), op == "login" && !isNetError(err):
		return fmt.Errorf("%s %s: %w: %w", op, u, ErrUnreachable, err)
	case errors.As(err, &te):
		return fmt.Errorf("%s %s: %w: %w", op, u, ErrProtocol, err)
	}
	return fmt.Errorf("%s %s: %w", op, u, classify(err))
}

func isCode(err error, codes ...int) bool {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, c := range codes {
		if te.Code == c {
			return true
		}
	}
	return false
}

// An ftpSession is one logged-in control connection and the data
// connections it opens, all closed when the caller's context ends.
type ftpSession struct {
	c      *ftp.ServerConn
	budget atomic.Int64 // bytes a listing may still read; unlimited if < 0 at start
	limit  bool
	mu     sync.Mutex
	conns  []net.Conn
	stop   func() bool
}

// connect dials and logs in. budget >= 0 caps the bytes read on every
// connection of the session.
func (p *ftpProber) connect(ctx context.Context, mlsd bool, budget int64) (*ftpSession, error) {
	s := &ftpSession{limit: budget >= 0}
	s.budget.Store(budget)
	s.stop = context.AfterFunc(ctx, s.closeConns)
	d := net.Dialer{Timeout: p.cfg.ConnectTimeout}
	dial := func(network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return s.track(c, p.cfg.HeaderTimeout, p.cfg.IdleTimeout), nil
	}
	c, err := ftp.Dial(p.addr, ftp.DialWithDialFunc(dial), ftp.DialWithDisabledMLSD(!mlsd),
		ftp.DialWithShutTimeout(p.cfg.HeaderTimeout))
	if err != nil {
		s.close()
		return nil, p.opErr(ctx, "connect", "", err)
	}
	s.c = c
	if err := c.Login(p.user, p.pass); err != nil {
		s.close()
		return nil, p.opErr(ctx, "login", "", err)
	}
	return s, nil
}

// track wraps a new connection: the first is the control connection.
func (s *ftpSession) track(c net.Conn, control, data time.Duration) net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	timeout := data
	if len(s.conns) == 0 {
		timeout = control
	}
	s.conns = append(s.conns, c)
	return &deadlineConn{Conn: c, timeout: timeout, s: s}
}

func (s *ftpSession) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

// close says goodbye when it can and closes every connection.
func (s *ftpSession) close() {
	s.stop()
	if s.c != nil {
		s.c.Quit()
	}
	s.closeConns()
}

// deadlineConn bounds every read and write by a deadline and charges reads
// to its session's budget.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
	s       *ftpSession
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	n, err := c.Conn.Read(b)
	if c.s.limit && c.s.budget.Add(-int64(n)) < 0 {
		return 0, errListTooLong
	}
	return n, err
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(b)
}
