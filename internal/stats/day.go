package stats

import (
	"fmt"
	"time"

	"github.com/pando-mirror/pando/internal/store"
)

// A Day is a calendar day in UTC, as days since 1970-01-01.
type Day int32

// Days outside this range are refused everywhere: before it, and after
// tomorrow (see SaneDays).
var firstDay = DayOf(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))

// DayOf returns the UTC day of t.
func DayOf(t time.Time) Day {
	return Day(floorDiv(t.Unix(), 86400))
}

// SaneDays returns the days a count may be for, given the time now: from
// 2000-01-01 to tomorrow (UTC), which leaves room for clocks that are a
// little ahead.
func SaneDays(now time.Time) (first, last Day) {
	return firstDay, DayOf(now) + 1
}

// ParseDay parses "2006-01-02".
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(store.StatsDayLayout, s)
	if err != nil || t.Format(store.StatsDayLayout) != s {
		return 0, fmt.Errorf("day %.32q: want YYYY-MM-DD", s)
	}
	return DayOf(t), nil
}

// String returns the day as "2006-01-02".
func (d Day) String() string { return string(d.Append(nil)) }

// Append appends the day as "2006-01-02" to b.
func (d Day) Append(b []byte) []byte {
	y, m, dd := civil(int64(d))
	if y < 0 || y > 9999 {
		return fmt.Appendf(b, "day(%d)", int32(d))
	}
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(b, byte('0'+m/10), byte('0'+m%10), '-')
	return append(b, byte('0'+dd/10), byte('0'+dd%10))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm); month is 1 to 12.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civil is the inverse of daysFromCivil.
func civil(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
