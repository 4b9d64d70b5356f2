package checkpoint

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Keys are note keys: a signer key ("PRIVATE+KEY+name+hash+data") kept by the
// origin and a verifier key ("name+hash+data") given to everyone else.

// VerifierFromSignerKey derives the verifier key text of an Ed25519 signer
// key, so a publisher that holds only its private key can check its own log.
func VerifierFromSignerKey(skey string) (string, error) {
	s, err := note.NewSigner(skey) // validates the key's form and hash
	if err != nil {
		return "", err
	}
	// PRIVATE+KEY+name+hash+data: the name has no "+", the base64 data may.
	parts := strings.SplitN(skey, "+", 5)
	key, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return "", errors.New("signer key is not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(s.Name(), pub)
}

// LoadVerifier returns the verifier for arg, which is either a verifier key's
// text or the name of a file holding one.
func LoadVerifier(arg string) (note.Verifier, error) {
	text := strings.TrimSpace(arg)
	if strings.HasPrefix(text, "PRIVATE+KEY+") {
		// Never quote a private key in an error: errors end up in logs.
		return nil, errors.New("public key: got a private signing key, want its verifier key")
	}
	if v, err := note.NewVerifier(text); err == nil {
		return v, nil
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return nil, fmt.Errorf("public key %q is neither a key nor a readable file: %w", arg, err)
	}
	if len(data) > 4096 {
		return nil, fmt.Errorf("public key file %s: larger than 4096 bytes", arg)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("public key file %s: %w", arg, err)
	}
	return v, nil
}

// LoadSigner reads a signer key from the file name, refusing a file that
// others can read.
func LoadSigner(name string) (note.Signer, string, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, "", fmt.Errorf("signing key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, "", fmt.Errorf("signing key %s: mode %v lets others read it; chmod 600 it", name, fi.Mode().Perm())
	}
	if fi.Size() > 4096 {
		return nil, "", fmt.Errorf("signing key %s: larger than 4096 bytes", name)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, "", fmt.Errorf("signing key: %w", err)
	}
	skey := strings.TrimSpace(string(data))
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("signing key %s: %w", name, err)
	}
	vkey, err := VerifierFromSignerKey(skey)
	if err != nil {
		return nil, "", fmt.Errorf("signing key %s: %w", name, err)
	}
	return s, vkey, nil
}
