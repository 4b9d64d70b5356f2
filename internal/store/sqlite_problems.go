package store

import (
	"context"
	"database/sql"
)

// putProblemCounts writes how many problems of each kind r has, replacing
// what an earlier record of the same mirror in the same pass said.
func putProblemCounts(ctx context.Context, tx *sql.Tx, r MirrorResult) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM problem_counts WHERE mirror = ? AND pass = ?`, r.Mirror, r.Pass); err != nil {
		return err
	}
	for kind, n := range CountProblems(r.Problems) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO problem_counts (mirror, pass, kind, count) VALUES (?, ?, ?, ?)`,
			r.Mirror, r.Pass, string(kind), n); err != nil {
			return err
		}
	}
	return nil
}

// scanProblemCounts adds the problem counts of the mirror's results checked
// at or after from (Unix microseconds) to the results in byPass.
func scanProblemCounts(ctx context.Context, tx *sql.Tx, mirror string, from int64, byPass map[PassID]*MirrorResult) error {
	rows, err := tx.QueryContext(ctx, `SELECT c.pass, c.kind, c.count FROM problem_counts c
		JOIN mirror_results r USING (mirror, pass)
		WHERE r.mirror = ? AND r.checked >= ?`, mirror, from)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var pass PassID
		var kind string
		var n int
		if err := rows.Scan(&pass, &kind, &n); err != nil {
			return err
		}
		if r := byPass[pass]; r != nil {
			if r.ProblemCounts == nil {
				r.ProblemCounts = map[ProblemKind]int{}
			}
			r.ProblemCounts[ProblemKind(kind)] = n
		}
	}
	return rows.Err()
}
