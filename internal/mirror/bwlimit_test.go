package mirror

import "testing"

func TestParseRate(t *testing.T) {
	good := map[string]int64{
		"": 0, "0": 0, "8M": 8_000_000, "8MB/s": 8_000_000, "512k": 512_000, "1.5Gi": 1610612736,
		"70Mbit": 8_750_000, "1Gbit/s": 125_000_000, "100": 100, "64Ki": 65536,
	}
	for in, want := range good {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"fast", "-1M", "8X", "0.1", "1e20", "Mbit"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) succeeded; want an error", in)
		}
	}
}
