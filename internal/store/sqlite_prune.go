package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// latestPasses selects each mirror's latest result: (mirror, pass).
const latestPasses = `SELECT mirror, MAX(pass) AS pass FROM mirror_results GROUP BY mirror`

func (s *SQLite) Prune(ctx context.Context, before time.Time) (Pruned, error) {
	var p Pruned
	cut := normTime(before).UnixMicro()
	err := s.write(ctx, func(tx *sql.Tx) error {
		p = Pruned{}
		steps := []struct {
			n     *int64
			query string
		}{
			{&p.Passes, `DELETE FROM passes WHERE started < ?
				AND id NOT IN (SELECT pass FROM (` + latestPasses + `) AS latest)`},
			{&p.Problems, `DELETE FROM problems WHERE last_seen < ?
				AND (mirror, last_pass) NOT IN (` + latestPasses + `)`},
			{&p.Batches, `DELETE FROM stats_batches WHERE received < ?`},
		}
		for _, st := range steps {
			res, err := tx.ExecContext(ctx, st.query, cut)
			if err != nil {
				return err
			}
			if *st.n, err = res.RowsAffected(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Pruned{}, fmt.Errorf("prune before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return p, nil
}
