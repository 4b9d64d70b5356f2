package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a positive duration: Go's form ("90s", "15m",
// "1h30m", "336h") or a whole number of days ("14d").
func ParseDuration(s string) (time.Duration, error) {
	const hint = `not a duration (use e.g. "90s", "15m", "24h" or "14d")`
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || strconv.FormatInt(n, 10) != days {
			return 0, errors.New(hint)
		}
		if n > math.MaxInt64/int64(24*time.Hour) {
			return 0, errors.New("too long")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New(hint)
		}
	}
	if d <= 0 {
		return 0, errors.New("must be positive")
	}
	return d, nil
}

// Size units: a single letter or an "iB" suffix counts in powers of 1024,
// a "B" suffix in powers of 1000, as rsync and many tools do.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// ParseSize parses a number of bytes: a whole number, optionally followed
// (after at most one space) by a unit: K, M, G, T and KiB, MiB, GiB, TiB
// count in powers of 1024, KB, MB, GB, TB in powers of 1000, B is bytes.
// Units are case-insensitive: "512MB", "1GiB", "8M", "4096".
func ParseSize(s string) (int64, error) {
	const hint = `not a size (use e.g. "512MB", "1GiB", "8M" or a number of bytes)`
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	digits, unit := s[:i], strings.ToLower(strings.TrimPrefix(s[i:], " "))
	mult, ok := sizeUnits[unit]
	if digits == "" || !ok || (len(digits) > 1 && digits[0] == '0') {
		return 0, errors.New(hint)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("larger than %d bytes", int64(math.MaxInt64))
	}
	return n * mult, nil
}
