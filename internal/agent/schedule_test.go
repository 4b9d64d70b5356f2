package agent

import (
	"testing"
	"time"
)

func TestNextWait(t *testing.T) {
	const interval, retry = time.Hour, time.Minute
	for _, c := range []struct {
		failures int
		r        float64
		want     time.Duration
	}{
		{0, 0.5, interval},
		{0, 0, interval - 6*time.Minute},
		{0, 0.999999, interval + 6*time.Minute - time.Duration(0.000001*0.2*float64(interval))},
		{1, 0.5, retry},
		{2, 0.5, 2 * retry},
		{4, 0.5, 8 * retry},
		{7, 0.5, interval}, // 64 minutes, capped
		{1000, 0.5, interval},
	} {
		got := nextWait(interval, retry, c.failures, c.r)
		if d := got - c.want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("nextWait(%d failures, r=%v) = %v, want %v", c.failures, c.r, got, c.want)
		}
	}
}
