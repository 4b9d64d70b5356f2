package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/store"
	"github.com/pando-mirror/pando/internal/upstream"
)

// Keys under which the origin's verified log is cached in the store, so each
// pass fetches only the journal records published since the last one.
const (
	metaCheckpoint = "origin.checkpoint"
	metaJournal    = "origin.journal"
)

// FetchOrigin returns the origin's current verified log: the cached one from
// the store, extended by the records the origin has published since. A
// checkpoint that rolls back or forks the cached log is refused.
func FetchOrigin(ctx context.Context, st store.Store, originURL string, v note.Verifier, cfg upstream.Config) (*logdir.Log, error) {
	cached, err := cachedOrigin(ctx, st, v)
	if err != nil {
		return nil, err
	}
	c, err := upstream.Dial(ctx, originURL, cfg)
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	defer c.Close()
	cp, signed, err := c.Checkpoint(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	next := cached
	if cp.N != cached.N() || cp.Hash != cached.Checkpoint.Hash {
		if next, _, err = c.Extend(ctx, cached, cp); err != nil {
			return nil, fmt.Errorf("origin: %w", err)
		}
	} else if err := checkpoint.Compare(cached.Checkpoint, cp); err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	next.Checkpoint, next.Signed = cp, signed
	if err := st.PutMeta(ctx, metaJournal, next.Journal); err != nil {
		return nil, err
	}
	if err := st.PutMeta(ctx, metaCheckpoint, signed); err != nil {
		return nil, err
	}
	return next, nil
}

// cachedOrigin rebuilds the cached log and checks it still reproduces its
// signed root; a damaged cache is dropped, not trusted.
func cachedOrigin(ctx context.Context, st store.Store, v note.Verifier) (*logdir.Log, error) {
	empty := logdir.Empty(v.Name())
	signed, err := st.GetMeta(ctx, metaCheckpoint)
	if errors.Is(err, store.ErrNotFound) {
		return empty, nil
	}
	if err != nil {
		return nil, err
	}
	cp, err := checkpoint.Open(signed, v)
	if err != nil {
		return empty, nil // a key change: start over
	}
	data, err := st.GetMeta(ctx, metaJournal)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	lines, err := journal.Lines(data, 0, cp.N)
	if err != nil {
		return empty, nil
	}
	l, _, err := empty.Extend(lines)
	if err != nil || l.Checkpoint.Hash != cp.Hash || !bytes.Equal(l.Journal, data[:len(l.Journal)]) {
		return empty, nil
	}
	l.Checkpoint, l.Signed = cp, signed
	return l, nil
}
