package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/verify"
)

const verifyHelp = `Usage: pando verify --root DIR --pubkey KEY [--json]

Checks the tree at DIR against its own signed checkpoint: the signature, that
the journal reproduces the signed root, every live file present with the
right size and SHA-256, every symlink pointing where it should, and no file
outside .pando that the log does not name. Each problem is printed with its
path. Exit status 0 when the tree is exact, 1 otherwise.`

var errVerifyFailed = errors.New("tree does not match its signed log")

func runVerify(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "verify", verifyHelp)
	root := fs.String("root", "", "the tree to verify (required)")
	pubkey := fs.String("pubkey", "", "the origin's public key: a file or the key text (required)")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	if *root == "" || *pubkey == "" {
		return usagef("need --root and --pubkey")
	}
	v, err := checkpoint.LoadVerifier(*pubkey)
	if err != nil {
		return usageError{err.Error()}
	}
	m := e.meter("verifying", *quiet)
	r, err := verify.Tree(ctx, *root, v, m)
	m.Close()
	if err != nil {
		return err
	}
	if *asJSON {
		if r.Problems == nil {
			r.Problems = []verify.Problem{}
		}
		if err := json.NewEncoder(e.stdout).Encode(r); err != nil {
			return err
		}
	} else {
		for _, p := range r.Problems {
			fmt.Fprintln(e.stdout, p)
		}
	}
	if !r.OK() {
		return fmt.Errorf("%s: %w: %d problems", *root, errVerifyFailed, len(r.Problems))
	}
	if !*asJSON {
		fmt.Fprintf(e.stdout, "ok: %d files, %d records, checkpoint of %s\n", r.Files, r.Records, r.Checkpoint.Time.Format("2006-01-02 15:04:05Z"))
	}
	return nil
}
