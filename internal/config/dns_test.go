package config

import (
	"testing"
	"time"
)

func TestParseDNS(t *testing.T) {
	cfg, err := Parse([]byte(minimal), "/etc/pando")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DNS.Enabled() {
		t.Errorf("DNS on without a [dns] section: %+v", cfg.DNS)
	}
	cfg, err = Parse([]byte(minimal+"[dns]\nlisten = \"127.0.0.1:5353\"\nname = \"DL.Example.org.\"\nlist_name = \"_mirrors.example.org\"\n"), "/etc/pando")
	if err != nil {
		t.Fatal(err)
	}
	want := DNS{Listen: "127.0.0.1:5353", Name: "dl.example.org", ListName: "_mirrors.example.org",
		Answers: 4, TTL: time.Minute, Rate: 50, Burst: 100}
	if cfg.DNS != want || !cfg.DNS.Enabled() {
		t.Errorf("[dns] = %+v, want %+v", cfg.DNS, want)
	}
	cfg, err = Parse([]byte(minimal+"[dns]\nlisten = \":53\"\nname = \"dl.example.org\"\nanswers = 8\nttl = \"5m\"\nrate = 10\nburst = 20\n"), "/etc/pando")
	if err != nil {
		t.Fatal(err)
	}
	want = DNS{Listen: ":53", Name: "dl.example.org", Answers: 8, TTL: 5 * time.Minute, Rate: 10, Burst: 20}
	if cfg.DNS != want {
		t.Errorf("[dns] = %+v, want %+v", cfg.DNS, want)
	}
}

func TestParseDNSErrors(t *testing.T) {
	for _, tt := range []struct{ name, data, want string }{
		{"empty section", "[dns]\n", "hub.toml: dns.listen: required in a [dns] section\nhub.toml: dns.name: required in a [dns] section"},
		{"bad listen", "[dns]\nlisten = \"5353\"\nname = \"dl.example.org\"\n",
			`hub.toml: dns.listen "5353": want host:port, e.g. "127.0.0.1:8080" or ":443"`},
		{"bad names", "[dns]\nlisten = \":53\"\nname = \"org\"\nlist_name = \"a..b\"\n",
			"hub.toml: dns.name \"org\": want at least two labels, e.g. \"dl.example.org\"\nhub.toml: dns.list_name \"a..b\": labels must have 1 to 63 bytes"},
		{"same names", "[dns]\nlisten = \":53\"\nname = \"dl.example.org\"\nlist_name = \"dl.example.org\"\n",
			`hub.toml: dns.list_name "dl.example.org": must differ from dns.name`},
		{"bad numbers", "[dns]\nlisten = \":53\"\nname = \"a.b\"\nanswers = 0\nrate = -1\nburst = 0\nttl = \"1.5s\"\n",
			"hub.toml: dns.answers 0: must be between 1 and 32\nhub.toml: dns.rate -1: must be between 1 and 1000000\nhub.toml: dns.burst 0: must be between 1 and 1000000\nhub.toml: dns.ttl \"1.5s\": must be whole seconds from 0 to 24h0m0s"},
		{"unknown key", "[dns]\nlisten = \":53\"\nname = \"a.b\"\nport = 53\n", `hub.toml: unknown key "dns.port"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+tt.data), "/etc/pando")
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
}
