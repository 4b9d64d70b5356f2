package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"

	"github.com/pando-mirror/pando/internal/safefile"
	"golang.org/x/mod/sumdb/note"
)

const keygenHelp = `Usage: pando keygen --out PREFIX NAME

Creates an origin's Ed25519 signing key pair for the origin called NAME (a
host name such as repo.example.org): PREFIX.key holds the private signer key
(mode 0600; keep it secret, give it to "pando publish --key") and PREFIX.pub
the public verifier key that mirrors and clients pass to --pubkey. Existing
files are never overwritten.`

func runKeygen(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "keygen", keygenHelp)
	out := fs.String("out", "", "write PREFIX.key and PREFIX.pub (required)")
	if err := fs.parse(args, 1); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 1 {
		return usagef("need --out PREFIX and the origin NAME")
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, fs.Arg(0))
	if err != nil {
		return usagef("origin name %q: %v", fs.Arg(0), err)
	}
	for _, name := range []string{*out + ".key", *out + ".pub"} {
		if _, err := os.Lstat(name); !errors.Is(err, iofs.ErrNotExist) {
			return fmt.Errorf("%s already exists; refusing to overwrite a key", name)
		}
	}
	if err := safefile.WriteFile(*out+".key", []byte(skey+"\n"), 0o600); err != nil {
		return err
	}
	if err := safefile.WriteFile(*out+".pub", []byte(vkey+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s.key (secret) and %s.pub\n%s\n", *out, *out, vkey)
	return nil
}
