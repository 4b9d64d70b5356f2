package availability_test

import (
	"testing"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/availability/availtest"
	"github.com/pando-mirror/pando/internal/config"
)

func TestMirrorOf(t *testing.T) {
	w, err := availtest.New("o", map[string][]byte{"f": []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	w.AddMirror(config.Mirror{Name: "top", HTTPS: "https://a.example/", HTTP: "http://a.example/", Weight: 1})
	w.AddMirror(config.Mirror{Name: "deep", HTTPS: "https://a.example/pub/deep/", Weight: 1})
	w.AddMirror(config.Mirror{Name: "port", HTTP: "http://b.example:8080/x/", FTP: "ftp://b.example/x/", Weight: 1})
	m := w.Map()
	s, v := testKeys(t, "hub.example.org")
	data, err := availability.Encode(m, s)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := availability.Decode(data, v)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ loc, want string }{
		{"https://a.example/pool/f.deb", "top"},
		{"http://a.example/pub/deep/f.deb", "top"},
		{"https://a.example/pub/deep/f.deb", "deep"},
		{"https://a.example/pub/deeper/f.deb", "top"},
		{"http://b.example:8080/x/f", "port"},
		{"http://b.example/x/f", ""},
		{"ftp://b.example/x/f", "port"},
		{"https://origin.example/pub/f", ""},
		{"https://a.example", ""},
		{"", ""},
	} {
		for name, mp := range map[string]*availability.Map{"compiled": m, "decoded": signed} {
			if got := mp.MirrorOf(tt.loc); got != tt.want {
				t.Errorf("%s map: MirrorOf(%q) = %q, want %q", name, tt.loc, got, tt.want)
			}
		}
	}
	if got := (*availability.Map)(nil).MirrorOf("https://a.example/f"); got != "" {
		t.Errorf("nil map: MirrorOf = %q", got)
	}
}
