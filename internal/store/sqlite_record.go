package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// prevResult is a mirror's result before the one being recorded.
type prevResult struct {
	pass    PassID // 0 if there is none
	checked sql.NullInt64
}

func (s *SQLite) RecordMirror(ctx context.Context, pass PassID, r MirrorResult) error {
	r, err := prepare(pass, r)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		prev, err := previous(ctx, tx, pass, r.Mirror)
		if err != nil {
			return err
		}
		if err := putResult(ctx, tx, r); err != nil {
			return err
		}
		if err := putProblems(ctx, tx, r, prev); err != nil {
			return err
		}
		if err := putProblemCounts(ctx, tx, r); err != nil {
			return err
		}
		return putObjects(ctx, tx, r)
	})
	if err != nil {
		return fmt.Errorf("record mirror %q in pass %d: %w", r.Mirror, pass, err)
	}
	return nil
}

// previous checks that pass exists and is not older than the mirror's
// latest result, and returns the mirror's result before pass.
func previous(ctx context.Context, tx *sql.Tx, pass PassID, mirror string) (prevResult, error) {
	var prev prevResult
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM passes WHERE id = ?`, pass).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return prev, ErrNotFound
	}
	if err != nil {
		return prev, err
	}
	var latest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(pass) FROM mirror_results WHERE mirror = ?`, mirror).Scan(&latest); err != nil {
		return prev, err
	}
	if latest.Valid && PassID(latest.Int64) > pass {
		return prev, fmt.Errorf("it has results from pass %d: %w", latest.Int64, ErrOldPass)
	}
	err = tx.QueryRowContext(ctx, `SELECT pass, checked FROM mirror_results
		WHERE mirror = ? AND pass < ? ORDER BY pass DESC LIMIT 1`, mirror, pass).Scan(&prev.pass, &prev.checked)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return prev, err
	}
	return prev, nil
}

// putResult writes the result and its access results, replacing any
// earlier record of the same mirror in the same pass.
func putResult(ctx context.Context, tx *sql.Tx, r MirrorResult) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO mirror_results (pass, mirror, checked) VALUES (?, ?, ?)
		ON CONFLICT (mirror, pass) DO UPDATE SET checked = excluded.checked`,
		r.Pass, r.Mirror, micros(r.Checked)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM access_results WHERE mirror = ? AND pass = ?`, r.Mirror, r.Pass); err != nil {
		return err
	}
	for _, a := range r.Access {
		var records sql.NullInt64
		if a.Records != nil {
			records = sql.NullInt64{Int64: *a.Records, Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO access_results
			(pass, mirror, access, url, reachable, tls_expiry, records, lag_seconds, complete, ok, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Pass, r.Mirror, a.Access, a.URL, a.Reachable, micros(a.TLSExpiry), records,
			int64(a.Lag.Seconds()), a.Complete, a.OK, a.Detail); err != nil {
			return err
		}
	}
	return nil
}

// putProblems writes the result's problems. A problem the mirror's
// previous result (or an earlier record of this pass) had keeps its first
// sighting; what an earlier record of this pass said and this one does not
// is undone.
func putProblems(ctx context.Context, tx *sql.Tx, r MirrorResult, prev prevResult) error {
	if err := undoProblems(ctx, tx, r, prev); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO problems
		(mirror, access, kind, path, expected, got, first_pass, last_pass, first_seen, last_seen)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?8)
		ON CONFLICT (mirror, access, kind, path) DO UPDATE SET
			first_pass = CASE WHEN problems.last_pass IN (?7, ?9) THEN problems.first_pass ELSE excluded.first_pass END,
			first_seen = CASE WHEN problems.last_pass IN (?7, ?9) THEN problems.first_seen ELSE excluded.first_seen END,
			last_pass = excluded.last_pass, last_seen = excluded.last_seen,
			expected = excluded.expected, got = excluded.got`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	checked := micros(r.Checked)
	for _, p := range r.Problems {
		if _, err := stmt.ExecContext(ctx, r.Mirror, p.Access, string(p.Kind), p.Path, p.Expected, p.Got,
			r.Pass, checked, prev.pass); err != nil {
			return err
		}
	}
	return nil
}

// undoProblems removes what an earlier record of the same pass said about
// the mirror and this record does not: a problem first seen in this pass
// goes, an older one is set back to the previous result.
func undoProblems(ctx context.Context, tx *sql.Tx, r MirrorResult, prev prevResult) error {
	rows, err := tx.QueryContext(ctx, `SELECT access, kind, path, first_pass FROM problems
		WHERE mirror = ? AND last_pass = ?`, r.Mirror, r.Pass)
	if err != nil {
		return err
	}
	type old struct {
		k     problemKey
		first PassID
	}
	var stale []old
	keep := map[problemKey]bool{}
	for _, p := range r.Problems {
		keep[p.key()] = true
	}
	for rows.Next() {
		var o old
		if err := rows.Scan(&o.k.access, &o.k.kind, &o.k.path, &o.first); err != nil {
			rows.Close()
			return err
		}
		if !keep[o.k] {
			stale = append(stale, o)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, o := range stale {
		var err error
		if o.first == r.Pass || prev.pass == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM problems WHERE mirror = ? AND access = ? AND kind = ? AND path = ?`,
				r.Mirror, o.k.access, string(o.k.kind), o.k.path)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE problems SET last_pass = ?, last_seen = ?
				WHERE mirror = ? AND access = ? AND kind = ? AND path = ?`,
				prev.pass, prev.checked, r.Mirror, o.k.access, string(o.k.kind), o.k.path)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// objectBatch is the number of object states one INSERT writes: a
// statement per state costs more in the driver than in SQLite itself.
const objectBatch = 32

// objectColumns is the number of columns an object state takes.
const objectColumns = 9

// putObjects upserts the result's object states, objectBatch at a time,
// first dropping all of the mirror's states if the result lists every
// object.
func putObjects(ctx context.Context, tx *sql.Tx, r MirrorResult) error {
	if r.AllObjects {
		if _, err := tx.ExecContext(ctx, `DELETE FROM objects WHERE mirror = ?`, r.Mirror); err != nil {
			return err
		}
	}
	var full *sql.Stmt // the statement for a whole batch, prepared once
	args := make([]any, 0, objectBatch*objectColumns)
	for start := 0; start < len(r.Objects); start += objectBatch {
		batch := r.Objects[start:min(start+objectBatch, len(r.Objects))]
		args = args[:0]
		for _, o := range batch {
			args = append(args, r.Mirror, o.Access, o.Path, o.Record, o.SHA256, o.Size,
				micros(o.SizeChecked), micros(o.HashChecked), o.OK)
		}
		var err error
		switch {
		case len(batch) < objectBatch:
			_, err = tx.ExecContext(ctx, upsertObjects(len(batch)), args...)
		case full == nil:
			if full, err = tx.PrepareContext(ctx, upsertObjects(objectBatch)); err != nil {
				return err
			}
			defer full.Close()
			fallthrough
		default:
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// upsertObjects is the statement that upserts n object states.
func upsertObjects(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO objects
		(mirror, access, path, record, sha256, size, size_checked, hash_checked, ok) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(` ON CONFLICT (mirror, access, path) DO UPDATE SET
		record = excluded.record, sha256 = excluded.sha256, size = excluded.size,
		size_checked = excluded.size_checked, hash_checked = excluded.hash_checked, ok = excluded.ok`)
	return b.String()
}
