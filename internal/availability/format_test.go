package availability_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/availability"

	"github.com/pando-mirror/pando/internal/keytest"
)

// testKeys returns a fixed hub key pair, so that the fuzz corpus stays
// valid.
func testKeys(t testing.TB, name string) (note.Signer, note.Verifier) {
	t.Helper()
	seed := [32]byte{}
	copy(seed[:], name)
	s, v, _, _ := keytest.From(t, name, rand.NewChaCha8(seed))
	return s, v
}

func encodeTest(t testing.TB) ([]byte, *availability.Map) {
	t.Helper()
	s, _ := testKeys(t, "hub.example.org")
	m := testWorld(t).Map().WithFallback("https://repo.example.org/pub/")
	data, err := availability.Encode(m, s)
	if err != nil {
		t.Fatal(err)
	}
	return data, m
}

func TestEncodeDecode(t *testing.T) {
	data, m := encodeTest(t)
	_, v := testKeys(t, "hub.example.org")
	got, err := availability.Decode(data, v)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Mirrors(), m.Mirrors()) {
		t.Errorf("mirrors:\n got %+v\nwant %+v", got.Mirrors(), m.Mirrors())
	}
	if g, w := strings.Join(holdings(got), " "), strings.Join(holdings(m), " "); g != w {
		t.Errorf("holdings:\n got %s\nwant %s", g, w)
	}
	if got.String() != m.String() || got.Fallback() != m.Fallback() || !got.Created().Equal(m.Created()) {
		t.Errorf("decoded %v (fallback %q), want %v", got, got.Fallback(), m)
	}
	for _, p := range []string{"a.iso", "b/c.jar", "d e.txt"} {
		o1, _ := got.Lookup(p)
		o2, _ := m.Lookup(p)
		if o1.Path != o2.Path || o1.Size != o2.Size || o1.Record != o2.Record || o1.SHA256 != o2.SHA256 {
			t.Errorf("Lookup(%s) = %+v, want %+v", p, o1, o2)
		}
	}
	s, _ := testKeys(t, "hub.example.org")
	again, err := availability.Encode(got, s)
	if err != nil || !bytes.Equal(again, data) {
		t.Errorf("re-encoding the decoded map gives other bytes (err %v)", err)
	}
	text, _, _ := strings.Cut(string(data), "\n\n")
	sum := sha256.Sum256(data[len(data)-bodyLen(t, data):])
	want := fmt.Sprintf("pando availability v2\nrepo.example.org\n4\n1700000100\n%d %x", bodyLen(t, data), sum)
	if text != want {
		t.Errorf("note text:\n%s\nwant\n%s", text, want)
	}
}

func bodyLen(t testing.TB, data []byte) int {
	t.Helper()
	text, _, _ := strings.Cut(string(data), "\n\n")
	lines := strings.Split(text, "\n")
	var n int
	fmt.Sscan(lines[len(lines)-1], &n)
	return n
}

// resign returns a signed map around body, with the given note text lines
// (the body line is computed unless given).
func resign(t testing.TB, body []byte, lines ...string) []byte {
	t.Helper()
	s, _ := testKeys(t, "hub.example.org")
	if len(lines) == 4 {
		sum := sha256.Sum256(body)
		lines = append(lines, fmt.Sprintf("%d %x", len(body), sum))
	}
	signed, err := note.Sign(&note.Note{Text: strings.Join(lines, "\n") + "\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	return append(signed, body...)
}

var okLines = []string{availability.Header, "repo.example.org", "4", "1700000100"}

func uv(x uint64) []byte { return binary.AppendUvarint(nil, x) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func str(s string) []byte { return cat(uv(uint64(len(s))), []byte(s)) }

// mirrorBytes is one valid mirror with an https access point.
func mirrorBytes(name string) []byte {
	return cat(str(name), uv(100), str("DE"), str("EU"), []byte{6}, uv(0), str(""), uv(1), []byte{2}, str("https://"+name+"/"), []byte{1})
}

func objectBytes(shared int, suffix string, record uint64, holders byte) []byte {
	return cat(uv(uint64(shared)), str(suffix), uv(5), uv(record), make([]byte, 32), []byte{holders})
}

func TestDecodeErrors(t *testing.T) {
	data, _ := encodeTest(t)
	_, v := testKeys(t, "hub.example.org")
	noObjects := cat(str(""), uv(1), mirrorBytes("m"), uv(0), uv(0)) // no objects, no links
	oneObject := cat(noObjects[:len(noObjects)-2], uv(1), objectBytes(0, "r/1/x", 1, 1))
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "availability map: no signed note at the start"},
		{"checkpoint", []byte("pando checkpoint v1\no\n1\nx\n1\n\n— o abc\n"), `availability map: first line "pando checkpoint v1": not "pando availability v2"`},
		{"flipped body byte", flip(data, len(data)-3), "availability map: body does not match the SHA-256 its signed note names"},
		{"truncated", data[:len(data)-1], fmt.Sprintf("availability map: body of %d bytes announced, %d bytes follow the signed note", bodyLen(t, data), bodyLen(t, data)-1)},
		{"trailing byte", append(bytes.Clone(data), 0), fmt.Sprintf("availability map: body of %d bytes announced, %d bytes follow the signed note", bodyLen(t, data), bodyLen(t, data)+1)},
		{"long body", resign(t, nil, append(okLines, "100 "+strings.Repeat("0", 64))...), "availability map: body of 100 bytes announced, 0 bytes follow the signed note"},
		{"lines", resign(t, nil, okLines[:3]...), "availability map: note text has 3 lines, want 5"},
		{"records", resign(t, nil, okLines[0], okLines[1], "04", okLines[3], "0 x"), `availability map: record count "04": want a number from 0 to 4294967296`},
		{"origin", resign(t, nil, okLines[0], "a b", okLines[2], okLines[3], "0 x"), `availability map: origin "a b": want a key name of 1 to 255 bytes without spaces or '+'`},
		{"hash", resign(t, nil, append(okLines, "0 ABCD")...), `availability map: body hash "ABCD": want 64 lowercase hex digits`},
		{"empty body", resign(t, nil, okLines...), "availability map: body: fallback length: truncated"},
		{"fallback", resign(t, cat(str("ftp://x/")), okLines...), `availability map: body: fallback "ftp://x/": scheme must be http or https`},
		{"long varint", resign(t, cat(str(""), []byte{0x80, 0x00}), okLines...), "availability map: body: mirror count: varint not in its shortest form"},
		{"mirror name", resign(t, cat(str(""), uv(1), str("A")), okLines...), `availability map: body: mirror 0 "A": name: "A": only a-z, 0-9 and - are allowed`},
		{"duplicate mirror", resign(t, cat(str(""), uv(2), mirrorBytes("m"), mirrorBytes("m"), uv(0)), okLines...), `availability map: body: mirror 1 "m": name used by an earlier mirror`},
		{"access order", resign(t, cat(str(""), uv(1), str("m"), uv(1), str(""), str(""), []byte{0}, uv(0), str(""), uv(2),
			[]byte{2}, str("https://m/"), []byte{1}, []byte{1}, str("http://m/"), []byte{0}), okLines...),
			`availability map: body: mirror 0 "m": access 1: kind 1: kinds must be 1 (http), 2 (https), 3 (ftp) in increasing order`},
		{"access url", resign(t, cat(str(""), uv(1), str("m"), uv(1), str(""), str(""), []byte{0}, uv(0), str(""), uv(1),
			[]byte{3}, str("http://m/"), []byte{1}), okLines...), `availability map: body: mirror 0 "m": ftp "http://m/": scheme must be ftp`},
		{"flags", resign(t, cat(str(""), uv(1), str("m"), uv(1), str(""), str(""), []byte{8}), okLines...), `availability map: body: mirror 0 "m": flags 8: more than 7`},
		{"object count", resign(t, cat(noObjects[:len(noObjects)-2], uv(3)), okLines...), "availability map: body: object count 3: the body has room for at most 0"},
		{"object order", resign(t, cat(noObjects[:len(noObjects)-2], uv(2), objectBytes(0, "b", 1, 1), objectBytes(0, "a", 1, 1)), okLines...),
			`availability map: body: object 1 (after "b"): path: not after the previous path, or shared prefix not the longest`},
		{"object record", resign(t, cat(noObjects[:len(noObjects)-2], uv(1), objectBytes(0, "a", 4, 1)), okLines...),
			`availability map: body: object 0 (after ""): record 4: not below the map's 4 records`},
		{"holder bits", resign(t, cat(noObjects[:len(noObjects)-2], uv(1), objectBytes(0, "a", 0, 2)), okLines...),
			`availability map: body: object 0 (after ""): holders: bits set beyond the 1 access points`},
		{"bad path", resign(t, cat(noObjects[:len(noObjects)-2], uv(1), objectBytes(0, "../a", 0, 1)), okLines...),
			`availability map: body: object 0: path "../a": ".." segment`},
		{"no link count", resign(t, noObjects[:len(noObjects)-1], okLines...), "availability map: body: link count: truncated"},
		{"link order", resign(t, cat(oneObject, uv(2), str("r/z"), str("1"), str("r/b"), str("1")), okLines...),
			`availability map: body: link 1: path "r/b" not after "r/z"`},
		{"link at an object", resign(t, cat(oneObject, uv(1), str("r/1/x"), str("y")), okLines...),
			`availability map: body: link 0: path "r/1/x" is an object's`},
		{"link out of the tree", resign(t, cat(oneObject, uv(1), str("r/up"), str("../../etc")), okLines...),
			`availability map: body: link 0: symlink "r/up": target "../../etc" leads outside the tree`},
		{"link into .pando", resign(t, cat(oneObject, uv(1), str("meta"), str(".pando")), okLines...),
			`availability map: body: link 0: symlink "meta": target ".pando" leads into .pando`},
		{"after links", resign(t, cat(noObjects, []byte{0}), okLines...), "availability map: body: 1 bytes after the last field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := availability.Decode(tt.data, v)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Decode = %v, %v\nwant error %s", m, err, tt.want)
			}
		})
	}
	if _, err := availability.Decode(resign(t, noObjects, okLines...), v); err != nil {
		t.Errorf("Decode of a minimal body: %v", err)
	}
}

// TestDecodeVersion1: a map of the previous version (no links) decodes, and
// re-encodes as version 2 with the same content.
func TestDecodeVersion1(t *testing.T) {
	_, v := testKeys(t, "hub.example.org")
	s, _ := testKeys(t, "hub.example.org")
	body := cat(str(""), uv(1), mirrorBytes("m"), uv(1), objectBytes(0, "r/1/x", 1, 1))
	v1 := append([]string{"pando availability v1"}, okLines[1:]...)
	m, err := availability.Decode(resign(t, body, v1...), v)
	if err != nil {
		t.Fatalf("Decode of a version 1 map: %v", err)
	}
	if _, ok := m.Lookup("r/1/x"); !ok {
		t.Error("the version 1 map lost its object")
	}
	again, err := availability.Encode(m, s)
	if err != nil {
		t.Fatal(err)
	}
	if want := resign(t, cat(body, uv(0)), okLines...); !bytes.Equal(again, want) {
		t.Errorf("re-encoded as %q\nwant %q", again, want)
	}
	// A version 1 body with links after its objects has bytes too many.
	if _, err := availability.Decode(resign(t, cat(body, uv(0)), v1...), v); err == nil {
		t.Error("a version 1 map with a link count decoded")
	}
}

func TestFollowLinks(t *testing.T) {
	_, v := testKeys(t, "hub.example.org")
	body := cat(str(""), uv(1), mirrorBytes("m"), uv(2), objectBytes(0, "r/1/x.iso", 1, 1), objectBytes(9, ".meta4", 2, 1),
		uv(6), str("cur"), str("r/stable/x.iso"), str("loop/a"), str("b"), str("loop/b"), str("a"),
		str("pool/up"), str("../r"), str("r/latest"), str("1"), str("r/stable"), str("latest"))
	m, err := availability.Decode(resign(t, body, okLines...), v)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"r/1/x.iso":            "r/1/x.iso",
		"r/latest/x.iso":       "r/1/x.iso",
		"r/stable/x.iso":       "r/1/x.iso", // a link to a link
		"cur":                  "r/1/x.iso",
		"pool/up/latest/x.iso": "r/1/x.iso",
		"r/latest/x.iso.meta4": "r/1/x.iso.meta4", // an object of its own wins
		"cur.meta4":            "r/1/x.iso.meta4", // the Metalink of the file the link names
		"r/latest/missing":     "r/latest/missing",
		"loop/a/x":             "loop/a/x",
		"nothing/here":         "nothing/here",
	} {
		if got := m.FollowLinks(in); got != want {
			t.Errorf("FollowLinks(%q) = %q, want %q", in, got, want)
		}
	}
}

func flip(data []byte, i int) []byte {
	c := bytes.Clone(data)
	c[i] ^= 1
	return c
}

func TestDecodeSignature(t *testing.T) {
	data, _ := encodeTest(t)
	_, other := testKeys(t, "hub.example.org-other")
	_, err := availability.Decode(data, other)
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		t.Errorf("Decode with another key: %v, want a *note.UnverifiedNoteError", err)
	}
	_, v := testKeys(t, "hub.example.org")
	i := bytes.Index(data, []byte("repo.example")) + 1 // inside the signed text
	_, err = availability.Decode(flip(data, i), v)
	var invalid *note.InvalidSignatureError
	if !errors.As(err, &invalid) {
		t.Errorf("Decode with a changed note text: %v, want a *note.InvalidSignatureError", err)
	}
}

func FuzzDecode(f *testing.F) {
	data, _ := encodeTest(f)
	f.Add(data)
	_, v := testKeys(f, "hub.example.org")
	s, _ := testKeys(f, "hub.example.org")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := availability.Decode(data, v)
		if err != nil {
			return
		}
		again, err := availability.Encode(m, s)
		if err != nil {
			t.Fatalf("Encode of a decoded map: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("decoded map re-encodes differently:\n%q\n%q", data, again)
		}
	})
}

// TestFuzzCorpus keeps the seed corpus in testdata/fuzz/FuzzDecode current:
// go test -run TestFuzzCorpus -update-corpus rewrites it.
func TestFuzzCorpus(t *testing.T) {
	data, _ := encodeTest(t)
	name := filepath.Join("testdata", "fuzz", "FuzzDecode", "encoded-test-world")
	want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	if os.Getenv("UPDATE_CORPUS") != "" {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(name)
	if err != nil || string(got) != want {
		t.Errorf("%s is out of date (err %v); rerun with UPDATE_CORPUS=1", name, err)
	}
}

// FuzzDecodeBody fuzzes the body parser behind a valid signature.
func FuzzDecodeBody(f *testing.F) {
	data, _ := encodeTest(f)
	f.Add(data[len(data)-bodyLen(f, data):])
	f.Add(cat(str(""), uv(1), mirrorBytes("m"), uv(2), objectBytes(0, "a/b", 1, 1), objectBytes(2, "c", 3, 0), uv(0)))
	f.Add(cat(str(""), uv(1), mirrorBytes("m"), uv(1), objectBytes(0, "r/1/x", 1, 1), uv(2), str("r/latest"), str("1"), str("x"), str("r/latest/x")))
	_, v := testKeys(f, "hub.example.org")
	s, _ := testKeys(f, "hub.example.org")
	f.Fuzz(func(t *testing.T, body []byte) {
		data := resign(t, body, okLines...)
		m, err := availability.Decode(data, v)
		if err != nil {
			return
		}
		again, err := availability.Encode(m, s)
		if err != nil {
			t.Fatalf("Encode of a decoded map: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("decoded map re-encodes differently:\n%q\n%q", data, again)
		}
	})
}
