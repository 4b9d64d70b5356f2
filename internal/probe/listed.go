package probe

import (
	"context"
	"fmt"
	"sync"
)

// listed answers Stat from one listing of the whole tree, made by the first
// Stat that needs it and kept for the prober's lifetime. A failed listing
// is not kept: the next Stat lists again.
type listed struct {
	list func(context.Context) ([]Stat, error)
	name func(path string) string // an object's URL, for errors

	mu    sync.Mutex
	sizes map[string]int64
}

// stat reports every path's size from the listing, calling fn once per
// path unless ctx ends first. When the listing fails every path gets that
// error and stat returns it.
func (l *listed) stat(ctx context.Context, paths []string, fn func(Stat)) error {
	sizes, err := l.load(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctxErr(ctx)
		}
		for _, p := range paths {
			fn(Stat{Path: p, Size: -1, Err: err})
		}
		return err
	}
	for _, p := range paths {
		if n, ok := sizes[p]; ok {
			fn(Stat{Path: p, Size: n})
		} else {
			fn(Stat{Path: p, Size: -1, Err: fmt.Errorf("%s: %w", l.name(p), ErrNotFound)})
		}
	}
	return nil
}

func (l *listed) load(ctx context.Context) (map[string]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sizes != nil {
		return l.sizes, nil
	}
	all, err := l.list(ctx)
	if err != nil {
		return nil, err
	}
	sizes := make(map[string]int64, len(all))
	for _, st := range all {
		sizes[st.Path] = st.Size
	}
	l.sizes = sizes
	return sizes, nil
}
