package main

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/pando-mirror/pando/internal/availability/availtest"
	pconfig "github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/geo/geotest"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/store"
)

// countries the generated mirrors and clients are spread over.
func countries() []string {
	return []string{
		"DE", "FR", "NL", "GB", "SE", "FI", "PL", "IT", "ES", "CZ", "AT", "CH", "RU",
		"US", "CA", "MX", "BR", "AR", "CL",
		"JP", "KR", "CN", "IN", "SG", "TW", "ID",
		"AU", "NZ", "ZA", "KE",
	}
}

// makeWorld generates the origin (objects files with package-like paths),
// the registry and the checker's results: every mirror holds about 98% of
// the objects over each of its access points; one mirror is untrusted (a
// hash mismatch), one disabled, one has its https access point down.
func makeWorld(cfg config) (*availtest.World, error) {
	rng := rand.New(rand.NewPCG(cfg.seed, 2))
	files := make(map[string][]byte, cfg.objects)
	for len(files) < cfg.objects {
		p := randomPath(rng)
		files[p] = []byte(p)
	}
	w, err := availtest.New("repo.example.org", files)
	if err != nil {
		return nil, err
	}
	entries := liveEntries(w)
	// One copy of each path and hash apart from the log's, shared by every
	// mirror's states, as a store returns them (it interns their strings):
	// comparing them with the log's costs what it would in the hub.
	strs := make([]objectStrings, len(entries))
	for i, e := range entries {
		strs[i] = objectStrings{path: strings.Clone(e.Path), sha256: hex.EncodeToString(e.SHA256[:])}
	}
	cc := countries()
	for i := 0; i < cfg.mirrors; i++ {
		m := pconfig.Mirror{
			Name: fmt.Sprintf("mirror-%02d", i), Country: cc[i%len(cc)], Weight: 50 + rng.IntN(951),
			HTTPS: fmt.Sprintf("https://m%02d.example.net/pub/", i),
		}
		if i%2 == 0 {
			m.HTTP = fmt.Sprintf("http://m%02d.example.net/pub/", i)
		}
		addMirror(w, m, i, entries, strs, rng)
	}
	return w, nil
}

func liveEntries(w *availtest.World) []*journal.Entry {
	var out []*journal.Entry
	for _, p := range w.Log.State.Paths() {
		e, _ := w.Log.State.Lookup(p)
		out = append(out, e)
	}
	return out
}

// objectStrings are the strings of an object's states.
type objectStrings struct{ path, sha256 string }

func addMirror(w *availtest.World, m pconfig.Mirror, i int, entries []*journal.Entry, strs []objectStrings, rng *rand.Rand) {
	switch i {
	case 7:
		defer func() {
			w.Result(m.Name).Problems = []store.Problem{{Kind: store.Hash, Access: "https", Path: entries[0].Path}}
		}()
	case 13:
		m.Weight = 0
	case 21:
		defer func() { w.Result(m.Name).Access[0].Reachable = false }()
	}
	w.AddMirror(m)
	checked := time.Unix(1700000000, 0)
	for _, a := range m.Access() {
		states := make([]store.ObjectState, 0, len(entries))
		for j, e := range entries {
			if rng.IntN(100) < 2 {
				continue
			}
			states = append(states, store.ObjectState{Mirror: m.Name, Access: string(a.Kind), Path: strs[j].path,
				Record: e.Index, SHA256: strs[j].sha256, Size: e.Size, SizeChecked: checked, HashChecked: checked, OK: true})
		}
		w.Objects[m.Name] = append(w.Objects[m.Name], states...)
	}
}

func randomPath(rng *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	name := make([]byte, 3+rng.IntN(12))
	for i := range name {
		name[i] = letters[rng.IntN(len(letters))]
	}
	arch := []string{"amd64", "arm64", "i386", "all"}[rng.IntN(4)]
	return fmt.Sprintf("pool/main/%c/%s/%s_%d.%d.%d-%d_%s.deb", name[0], name, name,
		rng.IntN(10), rng.IntN(30), rng.IntN(100), 1+rng.IntN(5), arch)
}

// makeGeo writes a GeoIP database and returns its name and client
// addresses, a few of them in no network. With places 0 it maps 10.N.0.0/16
// to the N-th country, at its representative point, with three addresses in
// each: every request comes from one of 30 places, as from a country
// database. Otherwise it maps places /24 networks under 10.0.0.0/8, taking
// the countries in turn, each at a point up to 3 degrees from its country's,
// with one address in each: as from a city database and clients all over,
// so that few requests come from a place seen just before.
func makeGeo(dir string, places int, rng *rand.Rand) (string, []string, error) {
	var nets []geotest.Network
	var ips []string
	ccs := countries()
	if places == 0 {
		for i, cc := range ccs {
			p, _ := geo.CountryPlace(cc)
			nets = append(nets, geotest.Network{CIDR: fmt.Sprintf("10.%d.0.0/16", i), Country: cc, Continent: p.Continent,
				HasCoords: true, Lat: p.Lat, Lon: p.Lon, ASN: uint32(64500 + i)})
			for k := 0; k < 3; k++ {
				ips = append(ips, netip.AddrFrom4([4]byte{10, byte(i), byte(rng.IntN(256)), byte(1 + rng.IntN(254))}).String())
			}
		}
	}
	for i := range places {
		cc := ccs[i%len(ccs)]
		p, _ := geo.CountryPlace(cc)
		lat := max(-89.9, min(89.9, p.Lat+6*rng.Float64()-3))
		lon := max(-179.9, min(179.9, p.Lon+6*rng.Float64()-3))
		nets = append(nets, geotest.Network{CIDR: fmt.Sprintf("10.%d.%d.0/24", i>>8, i&0xff), Country: cc, Continent: p.Continent,
			HasCoords: true, Lat: lat, Lon: lon, ASN: uint32(64500 + i)})
		ips = append(ips, netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(1 + rng.IntN(254))}).String())
	}
	ips = append(ips, "192.0.2.10", "198.51.100.20")
	name := filepath.Join(dir, "geo.mmdb")
	return name, ips, geotest.Write(name, nets)
}
