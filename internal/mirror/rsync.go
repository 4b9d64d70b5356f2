package mirror

import (
	"context"
	"errors"
)

func syncRsync(ctx context.Context, opts Options, raw string) (Result, error) {
	return Result{Upstream: raw}, errors.New("rsync upstream: not yet")
}
