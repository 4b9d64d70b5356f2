// Package config owns hub.toml, the configuration of a hub and its checker:
// where the origin is and which key signs it, where state is stored, how
// mirrors are checked, where the hub listens, and the mirror registry.
//
// Load and Parse read and validate a file once; every error names the file,
// the section or mirror (by index, counting from 0, and by name) and the key:
//
//	hub.toml: mirror[2] "fau": https "ftp://x": scheme must be https
//
// Unknown keys are refused, so a misspelt key is never silently ignored. An
// empty string means the same as a missing key: the default. docs/CONFIG.md
// lists every key with its type, default and meaning.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/checkpoint"
)

// Limits on what Load and Parse accept.
const (
	MaxFileSize = 4 << 20 // bytes in hub.toml
	MaxMirrors  = 10000   // [[mirror]] entries
	maxURLLen   = 2048    // bytes in one URL
)

// Defaults for keys left out.
const (
	DefaultMaxAge      = 24 * time.Hour
	DefaultDriver      = "sqlite"
	DefaultStorePath   = "pando.db"
	DefaultKeep        = 90 * 24 * time.Hour
	DefaultInterval    = 15 * time.Minute
	DefaultHashBudget  = 512 << 20
	DefaultConnections = 8
	DefaultTimeout     = 30 * time.Second
	DefaultTLSWarn     = 14 * 24 * time.Hour
	DefaultListen      = "127.0.0.1:8080"
	DefaultWeight      = 100
	DefaultCandidates  = 5
)

// Limits of the [redirect] section.
const (
	MaxCandidates     = 64   // redirect.candidates
	MaxTrustedProxies = 1000 // entries in redirect.trusted_proxies
)

// A Config is a validated hub.toml.
type Config struct {
	File     string // the file it was read from, for messages
	Origin   Origin
	Store    Store
	Check    Check
	Hub      Hub
	Redirect Redirect
	DNS      DNS
	Mirrors  []Mirror // in file order; names are unique
}

// Origin says where the expected state comes from.
type Origin struct {
	URL      string        // http or https URL of the origin's tree, ending in "/"
	PubKey   string        // as written: a verifier key or the name of a file holding one
	Verifier note.Verifier // verifies the origin's checkpoints
	MaxAge   time.Duration // a checkpoint signed longer ago than this is frozen
}

// Store says where the checker and hub keep their state.
type Store struct {
	Driver string        // "sqlite" or "postgres"
	Path   string        // sqlite: the database file, resolved against the config's directory
	DSN    string        // postgres: the connection string
	Keep   time.Duration // how much check history the hub keeps
}

// Check is the checker's policy.
type Check struct {
	Interval    time.Duration // time from the start of one pass to the start of the next
	HashBudget  int64         // bytes of content hashed per mirror per pass
	Connections int           // concurrent connections per mirror
	Timeout     time.Duration // deadline of one request
	TLSWarn     time.Duration // report a certificate that expires sooner than this
}

// Hub is where the hub listens and where it sends what no mirror serves.
type Hub struct {
	Listen   string // host:port
	Fallback string // URL prefix ending in "/"; defaults to the origin's URL
	Key      string // the hub's signing key file, for the signed availability map; "" for none
	MapFile  string // where to write the signed map after every pass; "" for nowhere (needs Key)
}

// Redirect is the redirector's policy: where client locations come from,
// which proxies' X-Forwarded-For headers are believed, and what it answers.
type Redirect struct {
	GeoIP          string         // .mmdb country or city database, resolved against the config's directory; "" for none
	ASNDB          string         // .mmdb ASN database, resolved likewise; "" for none
	TrustedProxies []netip.Prefix // clients whose X-Forwarded-For is believed, masked
	AllowInsecure  bool           // an https request may be sent to an http mirror
	Candidates     int            // alternatives listed in Link headers, 0 to MaxCandidates
}

// Mirror returns the mirror called name.
func (c *Config) Mirror(name string) (Mirror, bool) {
	for _, m := range c.Mirrors {
		if m.Name == name {
			return m, true
		}
	}
	return Mirror{}, false
}

// Load reads and validates the configuration file name. A relative store
// path and pubkey file are taken relative to the file's directory.
func Load(name string) (*Config, error) {
	data, err := readFile(name)
	if err != nil {
		return nil, err
	}
	return parse(name, data, filepath.Dir(name))
}

// Parse validates the configuration data, naming it "hub.toml" in errors. A
// relative store path and pubkey file are taken relative to dir.
func Parse(data []byte, dir string) (*Config, error) {
	return parse("hub.toml", data, dir)
}

func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileSize)
	}
	return data, nil
}

// rawConfig is hub.toml as written, before defaults and validation.
type rawConfig struct {
	Origin struct {
		URL    string `toml:"url"`
		PubKey string `toml:"pubkey"`
		MaxAge string `toml:"max_age"`
	} `toml:"origin"`
	Store struct {
		Driver string `toml:"driver"`
		Path   string `toml:"path"`
		DSN    string `toml:"dsn"`
		Keep   string `toml:"keep"`
	} `toml:"store"`
	Check struct {
		Interval    string `toml:"interval"`
		HashBudget  string `toml:"hash_budget"`
		Connections *int   `toml:"connections"`
		Timeout     string `toml:"timeout"`
		TLSWarn     string `toml:"tls_warn"`
	} `toml:"check"`
	Hub struct {
		Listen   string `toml:"listen"`
		Fallback string `toml:"fallback"`
		Key      string `toml:"key"`
		MapFile  string `toml:"map_file"`
	} `toml:"hub"`
	Redirect struct {
		GeoIP          string   `toml:"geoip"`
		ASNDB          string   `toml:"asn_db"`
		TrustedProxies []string `toml:"trusted_proxies"`
		AllowInsecure  bool     `toml:"allow_insecure"`
		Candidates     *int     `toml:"candidates"`
	} `toml:"redirect"`
	DNS    rawDNS           `toml:"dns"`
	Mirror []toml.Primitive `toml:"mirror"`
}

// A validator collects the validation errors of one file.
type validator struct {
	file string
	dir  string
	errs []error
}

func (v *validator) errorf(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf(v.file+": "+format, args...))
}

func parse(file string, data []byte, dir string) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, MaxFileSize)
	}
	var raw rawConfig
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	v := &validator{file: file, dir: dir}
	v.unknownKeys(md.Undecoded())
	cfg := &Config{File: file}
	cfg.Origin = v.origin(&raw)
	cfg.Store = v.store(&raw)
	cfg.Check = v.check(&raw)
	cfg.Hub = v.hub(&raw, cfg.Origin.URL)
	cfg.Redirect = v.redirect(&raw)
	cfg.DNS = v.dns(&raw.DNS, md.IsDefined("dns"))
	cfg.Mirrors = v.mirrors(&md, raw.Mirror)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return cfg, nil
}

// unknownKeys reports keys outside the [[mirror]] entries that no field
// took; mirrors' own keys are checked per entry, so errors can name it.
func (v *validator) unknownKeys(keys []toml.Key) {
	var names []string
	for _, k := range keys {
		if len(k) > 0 && k[0] != "mirror" {
			names = append(names, k.String())
		}
	}
	sort.Strings(names)
	reported := ""
	for _, n := range names {
		if reported != "" && strings.HasPrefix(n, reported+".") {
			continue // inside an unknown table already reported
		}
		v.errorf("unknown key %q", n)
		reported = n
	}
}

func (v *validator) origin(raw *rawConfig) Origin {
	o := Origin{PubKey: raw.Origin.PubKey, MaxAge: DefaultMaxAge}
	if raw.Origin.URL == "" {
		v.errorf("origin.url: required")
	} else if u, err := checkURL(raw.Origin.URL, "http", "https"); err != nil {
		v.errorf("origin.url %q: %v", raw.Origin.URL, err)
	} else {
		o.URL = u
	}
	if raw.Origin.PubKey == "" {
		v.errorf("origin.pubkey: required")
	} else if ver, err := loadVerifier(v.dir, raw.Origin.PubKey); err != nil {
		v.errorf("origin.pubkey %q: %v", raw.Origin.PubKey, err)
	} else {
		o.Verifier = ver
	}
	v.duration("origin.max_age", raw.Origin.MaxAge, &o.MaxAge)
	return o
}

// loadVerifier reads a verifier key given as text or as a file name.
func loadVerifier(dir, s string) (note.Verifier, error) {
	text := strings.TrimSpace(s)
	if strings.Count(text, "+") >= 2 && !strings.ContainsAny(text, `/\`) {
		return note.NewVerifier(text) // looks like a key: report why it is not one
	}
	name := s
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	fi, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("neither a verifier key nor a readable file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	return checkpoint.LoadVerifier(name)
}

func (v *validator) store(raw *rawConfig) Store {
	s := Store{Driver: raw.Store.Driver, Path: raw.Store.Path, DSN: raw.Store.DSN, Keep: DefaultKeep}
	v.duration("store.keep", raw.Store.Keep, &s.Keep)
	if s.Driver == "" {
		s.Driver = DefaultDriver
	}
	switch s.Driver {
	case "sqlite":
		if s.DSN != "" {
			v.errorf("store.dsn: only for driver \"postgres\"; use store.path for sqlite")
		}
		if s.Path == "" {
			s.Path = DefaultStorePath
		}
		if !filepath.IsAbs(s.Path) {
			s.Path = filepath.Join(v.dir, s.Path)
		}
	case "postgres":
		if s.Path != "" {
			v.errorf("store.path: only for driver \"sqlite\"; use store.dsn for postgres")
		}
		if s.DSN == "" {
			v.errorf("store.dsn: required for driver \"postgres\"")
		}
	default:
		v.errorf("store.driver %q: must be \"sqlite\" or \"postgres\"", s.Driver)
	}
	return s
}

func (v *validator) check(raw *rawConfig) Check {
	k := Check{
		Interval:    DefaultInterval,
		HashBudget:  DefaultHashBudget,
		Connections: DefaultConnections,
		Timeout:     DefaultTimeout,
		TLSWarn:     DefaultTLSWarn,
	}
	v.duration("check.interval", raw.Check.Interval, &k.Interval)
	v.duration("check.timeout", raw.Check.Timeout, &k.Timeout)
	v.duration("check.tls_warn", raw.Check.TLSWarn, &k.TLSWarn)
	if s := raw.Check.HashBudget; s != "" {
		if n, err := ParseSize(s); err != nil {
			v.errorf("check.hash_budget %q: %v", s, err)
		} else {
			k.HashBudget = n
		}
	}
	if p := raw.Check.Connections; p != nil {
		if *p < 1 || *p > 256 {
			v.errorf("check.connections %d: must be between 1 and 256", *p)
		} else {
			k.Connections = *p
		}
	}
	return k
}

// duration parses s into *d unless s is empty (keeping the default).
func (v *validator) duration(key, s string, d *time.Duration) {
	if s == "" {
		return
	}
	parsed, err := ParseDuration(s)
	if err != nil {
		v.errorf("%s %q: %v", key, s, err)
		return
	}
	*d = parsed
}

func (v *validator) hub(raw *rawConfig, originURL string) Hub {
	h := Hub{Listen: raw.Hub.Listen, Fallback: originURL}
	if h.Listen == "" {
		h.Listen = DefaultListen
	}
	if err := checkListen(h.Listen); err != nil {
		v.errorf("hub.listen %q: %v", h.Listen, err)
	}
	if s := raw.Hub.Fallback; s != "" {
		if u, err := checkURL(s, "http", "https"); err != nil {
			v.errorf("hub.fallback %q: %v", s, err)
		} else {
			h.Fallback = u
		}
	}
	h.Key, h.MapFile = v.relative(raw.Hub.Key), v.relative(raw.Hub.MapFile)
	if h.MapFile != "" && h.Key == "" {
		v.errorf("hub.map_file %q: needs hub.key to sign the map", raw.Hub.MapFile)
	}
	return h
}

// relative resolves a file name against the config's directory.
func (v *validator) relative(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(v.dir, name)
}

func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, e.g. \"127.0.0.1:8080\" or \":443\"")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}
