package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
	"golang.org/x/sys/unix"

	"github.com/pando-mirror/pando/internal/safefile"
)

// lockDir holds an exclusive flock on the directory dir until the returned
// function is called. The file itself cannot carry the lock (it is
// replaced by a rename) and a lock file would be left beside it; the
// kernel drops the lock if the process dies.
func lockDir(dir string) (func(), error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(d.Fd()), unix.LOCK_EX); err != nil {
		d.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return func() { d.Close() }, nil // closing drops the lock
}

// tomlMirror is the form FormatMirrors writes a mirror in.
type tomlMirror struct {
	Name    string `toml:"name"`
	HTTP    string `toml:"http,omitempty"`
	HTTPS   string `toml:"https,omitempty"`
	Rsync   string `toml:"rsync,omitempty"`
	FTP     string `toml:"ftp,omitempty"`
	Country string `toml:"country,omitempty"`
	Weight  int    `toml:"weight"`
	Contact string `toml:"contact,omitempty"`
	Notes   string `toml:"notes,omitempty"`
	Token   string `toml:"token,omitempty"`

	Continent string   `toml:"continent,omitempty"`
	Latitude  *float64 `toml:"latitude,omitempty"`
	Longitude *float64 `toml:"longitude,omitempty"`
	ASN       uint32   `toml:"asn,omitzero"`
}

func toTOML(m Mirror) tomlMirror {
	t := tomlMirror{
		Name: m.Name, HTTP: m.HTTP, HTTPS: m.HTTPS, Rsync: m.Rsync, FTP: m.FTP,
		Country: m.Country, Weight: m.Weight, Contact: m.Contact, Notes: m.Notes, Token: m.Token,
		Continent: m.Continent, ASN: m.ASN,
	}
	if m.HasCoords {
		lat, lon := m.Latitude, m.Longitude
		t.Latitude, t.Longitude = &lat, &lon
	}
	return t
}

// FormatMirrors returns ms as [[mirror]] entries of hub.toml.
func FormatMirrors(ms []Mirror) ([]byte, error) {
	var buf bytes.Buffer
	for i, m := range ms {
		if i > 0 {
			buf.WriteByte('\n')
		}
		enc := toml.NewEncoder(&buf)
		enc.Indent = ""
		doc := struct {
			Mirror []tomlMirror `toml:"mirror"`
		}{[]tomlMirror{toTOML(m)}}
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("mirror %q: %w", m.Name, err)
		}
	}
	return buf.Bytes(), nil
}

// AppendMirrors adds ms to the end of the configuration file name, keeping
// everything already in it. It refuses a mirror whose name or URL the file
// already has, and writes nothing then. The file is replaced atomically,
// and concurrent calls on it (two imports at once) take turns, so neither
// loses the other's mirrors.
func AppendMirrors(name string, ms []Mirror) error {
	unlock, err := lockDir(filepath.Dir(name))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer unlock()
	data, err := readFile(name)
	if err != nil {
		return err
	}
	dir := filepath.Dir(name)
	cfg, err := parse(name, data, dir)
	if err != nil {
		return err
	}
	if err := checkNew(name, cfg, ms); err != nil {
		return err
	}
	text, err := FormatMirrors(ms)
	if err != nil {
		return err
	}
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		data = append(data, '\n')
	}
	data = append(append(data, '\n'), text...)
	if _, err := parse(name, data, dir); err != nil {
		return fmt.Errorf("after adding mirrors: %w", err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	return safefile.WriteFile(name, data, fi.Mode().Perm())
}

// checkNew refuses mirrors whose name or URL cfg, read from file, has.
func checkNew(file string, cfg *Config, ms []Mirror) error {
	names := map[string]bool{}
	urls := map[string]string{}
	for _, m := range cfg.Mirrors {
		names[m.Name] = true
		for _, a := range m.Access() {
			urls[a.URL] = m.Name
		}
	}
	var errs []error
	for _, m := range ms {
		if names[m.Name] {
			errs = append(errs, fmt.Errorf("%s: mirror %q: name already in use", file, m.Name))
		}
		for _, a := range m.Access() {
			if other, dup := urls[a.URL]; dup {
				errs = append(errs, fmt.Errorf("%s: mirror %q: %s %q: already the URL of mirror %q", file, m.Name, a.Kind, a.URL, other))
			}
		}
	}
	return errors.Join(errs...)
}
