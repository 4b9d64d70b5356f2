package mirror

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/time/rate"
)

// ParseRate parses a bandwidth cap: bytes per second with an optional SI
// (k, M, G) or binary (Ki, Mi, Gi) multiplier and an optional "B" or "/s"
// ("8M", "8MB/s", "512k", "1.5Gi"), or bits per second when it ends in "bit"
// ("70Mbit", "1Gbit"). "0" and "" mean no cap.
func ParseRate(s string) (int64, error) {
	orig := s
	s = strings.TrimSuffix(strings.TrimSpace(s), "/s")
	if s == "" || s == "0" {
		return 0, nil
	}
	bits := false
	if t, ok := strings.CutSuffix(s, "bit"); ok {
		s, bits = t, true
	} else {
		s = strings.TrimSuffix(s, "B")
	}
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}} {
		if t, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = t, u.m
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1e15 {
		return 0, fmt.Errorf("bandwidth %q: want e.g. 8M (bytes/s) or 70Mbit", orig)
	}
	v *= mult
	if bits {
		v /= 8
	}
	if v < 1 {
		return 0, fmt.Errorf("bandwidth %q: less than one byte per second", orig)
	}
	return int64(v), nil
}

// A limiter shares one bandwidth cap among every transfer of a run. Tokens
// are bytes. The burst is a tenth of a second's worth: enough to absorb
// timer jitter between small reads, small enough that the cap holds within
// 1% over any 10 s window.
type limiter struct {
	lim   *rate.Limiter
	chunk int
}

func newLimiter(bytesPerSec int64) *limiter {
	if bytesPerSec <= 0 {
		return nil
	}
	chunk := int(min(32<<10, max(1<<10, bytesPerSec/20)))
	burst := max(chunk, int(min(bytesPerSec/10, 1<<30))) // 1% over a 10 s window
	return &limiter{lim: rate.NewLimiter(rate.Limit(bytesPerSec), burst), chunk: chunk}
}

// reader returns r limited by l; a nil l leaves r as it is.
func (l *limiter) reader(ctx context.Context, r io.Reader) io.Reader {
	if l == nil {
		return r
	}
	return &limitedReader{ctx: ctx, r: r, l: l}
}

type limitedReader struct {
	ctx context.Context
	r   io.Reader
	l   *limiter
}

// Read reads at most one chunk, then waits until the cap allows the bytes
// it read, so the rate over any window is at most the cap plus one chunk.
func (r *limitedReader) Read(p []byte) (int, error) {
	if len(p) > r.l.chunk {
		p = p[:r.l.chunk]
	}
	n, err := r.r.Read(p)
	if n > 0 {
		if werr := r.l.lim.WaitN(r.ctx, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}
