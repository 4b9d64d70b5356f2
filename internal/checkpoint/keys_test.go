package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestVerifierFromSignerKey(t *testing.T) {
	for _, name := range []string{"repo.example.org", "a", "mirror/tier-1"} {
		t.Run(name, func(t *testing.T) {
			_, _, skey, vkey := newKey(t, name)
			got, err := VerifierFromSignerKey(skey)
			if err != nil {
				t.Fatal(err)
			}
			if got != vkey {
				t.Fatalf("VerifierFromSignerKey = %q, want %q as note.GenerateKey returned", got, vkey)
			}
		})
	}
	// Fixed keys, some of whose base64 data holds a "+", the separator of
	// the key's other fields.
	plus := 0
	for i := range 16 {
		seed := sha256.Sum256([]byte{byte(i)})
		skey, vkey, err := note.GenerateKey(bytes.NewReader(seed[:]), "repo.example.org")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(skey[len(skey)-44:], "+") { // 44 base64 digits of 0x01 and the seed
			plus++
		}
		if got, err := VerifierFromSignerKey(skey); err != nil || got != vkey {
			t.Errorf("VerifierFromSignerKey(%s) = %q, %v; want %q", skey, got, err, vkey)
		}
	}
	if plus == 0 {
		t.Fatal("no fixed key has a \"+\" in its data")
	}

	for _, tt := range []struct{ name, skey, err string }{
		{"not a key", "hello", "malformed verifier id"},
		{"verifier key", "repo.example.org+12345678+AQID", "malformed verifier id"},
		{"wrong hash", "PRIVATE+KEY+repo.example.org+00000000+AWjX7xZ4nlrRrdrQ4flhcB+YOAEQflDAyrLsQaqzvzUl", "invalid verifier hash"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifierFromSignerKey(tt.skey)
			if err == nil || err.Error() != tt.err {
				t.Fatalf("VerifierFromSignerKey(%q) error = %v, want %q", tt.skey, err, tt.err)
			}
		})
	}
}

func writeFile(t *testing.T, name, data string, perm os.FileMode) string {
	t.Helper()
	name = filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(name, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, perm); err != nil { // not subject to the umask
		t.Fatal(err)
	}
	return name
}

func TestLoadVerifier(t *testing.T) {
	signer, _, skey, vkey := newKey(t, "repo.example.org")
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	ok := []struct{ name, arg string }{
		{"key text", vkey},
		{"key text with spaces", "  " + vkey + "\n"},
		{"file", writeFile(t, "repo.pub", vkey+"\n", 0o644)},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			v, err := LoadVerifier(tt.arg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
				t.Fatalf("loaded verifier %s does not verify the key's signature: %v", v.Name(), err)
			}
		})
	}

	junk := writeFile(t, "junk.pub", "not a key\n", 0o644)
	big := writeFile(t, "big.pub", vkey+strings.Repeat(" ", 4096), 0o644)
	missing := filepath.Join(t.TempDir(), "missing.pub")
	bad := []struct{ name, arg, err string }{
		{"missing file", missing, `public key "` + missing + `" is neither a key nor a readable file: open ` + missing + `: no such file or directory`},
		{"file without a key", junk, "public key file " + junk + ": malformed verifier id"},
		{"file too large", big, "public key file " + big + ": larger than 4096 bytes"},
		{"private key", skey, "public key: got a private signing key, want its verifier key"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			v, err := LoadVerifier(tt.arg)
			if err == nil || err.Error() != tt.err {
				t.Fatalf("LoadVerifier(%q) = %v, %v; want error %q", tt.arg, v, err, tt.err)
			}
		})
	}
}

func TestLoadSigner(t *testing.T) {
	_, verifier, skey, vkey := newKey(t, "repo.example.org")
	name := writeFile(t, "repo.key", skey+"\n", 0o600)
	s, gotV, err := LoadSigner(name)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "repo.example.org" || s.KeyHash() != verifier.KeyHash() || gotV != vkey {
		t.Fatalf("LoadSigner = %s+%08x, %q; want repo.example.org+%08x, %q", s.Name(), s.KeyHash(), gotV, verifier.KeyHash(), vkey)
	}
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(verifier)); err != nil {
		t.Fatalf("loaded signer's signature does not verify: %v", err)
	}

	readable := writeFile(t, "readable.key", skey+"\n", 0o644)
	group := writeFile(t, "group.key", skey+"\n", 0o640)
	junk := writeFile(t, "junk.key", "PRIVATE+KEY+junk\n", 0o600)
	big := writeFile(t, "big.key", skey+strings.Repeat("\n", 4096), 0o600)
	missing := filepath.Join(t.TempDir(), "missing.key")
	tests := []struct{ name, file, err string }{
		{"world-readable", readable, "signing key " + readable + ": mode -rw-r--r-- lets others read it; chmod 600 it"},
		{"group-readable", group, "signing key " + group + ": mode -rw-r----- lets others read it; chmod 600 it"},
		{"not a key", junk, "signing key " + junk + ": malformed verifier id"},
		{"too large", big, "signing key " + big + ": larger than 4096 bytes"},
		{"missing", missing, "signing key: stat " + missing + ": no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := LoadSigner(tt.file)
			if err == nil || err.Error() != tt.err {
				t.Fatalf("LoadSigner(%s) = %v, %v; want error %q", tt.file, s, err, tt.err)
			}
			if err != nil && bytes.Contains([]byte(err.Error()), []byte(skey)) {
				t.Fatal("error quotes the private key")
			}
		})
	}
}
