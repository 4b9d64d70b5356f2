package probe

import (
	"context"
	"errors"
	"net/http"
	"sync"
)

// statStreams answers the paths queued in ps with Config.Streams concurrent
// HEAD requests through client, which speaks HTTP/2: net/http multiplexes
// them as streams on few connections, so no hand-written pipelining is
// needed. Redirects are followed by the client.
func (p *httpProber) statStreams(ctx context.Context, client *http.Client, ps *pass) {
	var wg sync.WaitGroup
	for range max(1, min(p.cfg.Streams, len(ps.queue))) {
		wg.Go(func() { p.streamWorker(ctx, client, ps) })
	}
	wg.Wait()
}

// streamWorker sends one HEAD at a time until the pass is over.
func (p *httpProber) streamWorker(ctx context.Context, client *http.Client, ps *pass) {
	b := ps.breaker()
	for {
		i, ok := ps.next(ctx)
		if !ok {
			return
		}
		st, err := p.headOnce(ctx, client, ps.paths[i])
		if err == nil {
			b.ok()
			ps.answer(i, st)
			continue
		}
		if ctx.Err() != nil {
			return // the path stays unreported; Stat returns ctx's error
		}
		ps.retry(i, false, err)
		if b.failed(p.apErr(err)) {
			return
		}
	}
}

// headOnce sends one HEAD. A response, or a redirect chain too long,
// is an answer (st); a failure to get one is err.
func (p *httpProber) headOnce(ctx context.Context, client *http.Client, path string) (Stat, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout+p.cfg.HeaderTimeout)
	defer cancel()
	u := p.objectURL(path).String()
	req, err := p.newRequest(ctx, http.MethodHead, u)
	if err != nil {
		return Stat{}, err
	}
	resp, err := client.Do(req)
	if errors.Is(err, errRedirects) {
		return Stat{Size: -1, Err: p.headErr(path, err)}, nil
	}
	if err != nil {
		return Stat{}, err
	}
	resp.Body.Close()
	return statOf(resp.Request.URL.String(), resp), nil
}
