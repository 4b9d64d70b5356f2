package store

import (
	"context"
	"database/sql"
	"fmt"
)

func (s *SQLite) AddStats(ctx context.Context, b StatBatch) (bool, error) {
	rows, err := prepareStats(b)
	if err != nil {
		return false, err
	}
	var duplicate bool
	err = s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if duplicate, err = putBatch(ctx, tx, b, rows); err != nil || duplicate {
			return err
		}
		if err := putStatRows(ctx, tx, rows); err != nil {
			return err
		}
		return putReported(ctx, tx, reportedDays(b, rows))
	})
	if err != nil {
		return false, fmt.Errorf("add stats batch %q from %s %q: %w", b.ID, b.Source, b.Reporter, err)
	}
	return duplicate, nil
}

// putBatch records the batch, or reports that it was recorded before.
func putBatch(ctx context.Context, tx *sql.Tx, b StatBatch, rows []StatRow) (duplicate bool, err error) {
	var total int64
	for _, r := range rows {
		total += r.Downloads
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO stats_batches (source, reporter, batch_id, received, counts, downloads)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		string(b.Source), b.Reporter, b.ID, micros(normTime(b.Received)), len(rows), total)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 0, nil
}

func putStatRows(ctx context.Context, tx *sql.Tx, rows []StatRow) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO stats_counts (day, path, mirror, country, source, downloads)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (day, path, mirror, country, source) DO UPDATE SET downloads = stats_counts.downloads + excluded.downloads`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r.Day, r.Path, r.Mirror, r.Country, string(r.Source), r.Downloads); err != nil {
			return err
		}
	}
	return nil
}

func putReported(ctx context.Context, tx *sql.Tx, days []MirrorDay) error {
	for _, d := range days {
		if _, err := tx.ExecContext(ctx, `INSERT INTO stats_reported (mirror, day) VALUES (?, ?)
			ON CONFLICT DO NOTHING`, d.Mirror, d.Day); err != nil {
			return err
		}
	}
	return nil
}

func (s *SQLite) QueryStats(ctx context.Context, q StatsQuery) (StatsResult, error) {
	if err := checkStatsQuery(q); err != nil {
		return StatsResult{}, err
	}
	var res StatsResult
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if res.Rows, res.Truncated, err = statRows(ctx, tx, q); err != nil {
			return err
		}
		res.Reported, err = reportedIn(ctx, tx, q.From, q.To)
		return err
	})
	if err != nil {
		return StatsResult{}, fmt.Errorf("query stats from %s to %s: %w", q.From, q.To, err)
	}
	return res, nil
}

func statRows(ctx context.Context, tx *sql.Tx, q StatsQuery) ([]StatRow, bool, error) {
	query, args := `SELECT day, path, mirror, country, source, downloads FROM stats_counts
		WHERE day >= ? AND day <= ?`, []any{q.From, q.To}
	if q.Path != "" {
		query, args = query+` AND path = ?`, append(args, q.Path)
	}
	query += ` ORDER BY day, path, mirror, country, source`
	if q.Limit > 0 {
		query, args = query+` LIMIT ?`, append(args, q.Limit+1)
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []StatRow
	for rows.Next() {
		var r StatRow
		if err := rows.Scan(&r.Day, &r.Path, &r.Mirror, &r.Country, &r.Source, &r.Downloads); err != nil {
			return nil, false, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if q.Limit > 0 && len(out) > q.Limit {
		return out[:q.Limit], true, nil
	}
	return out, false, nil
}

func reportedIn(ctx context.Context, tx *sql.Tx, from, to string) ([]MirrorDay, error) {
	rows, err := tx.QueryContext(ctx, `SELECT mirror, day FROM stats_reported
		WHERE day >= ? AND day <= ? ORDER BY mirror, day`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MirrorDay
	for rows.Next() {
		var d MirrorDay
		if err := rows.Scan(&d.Mirror, &d.Day); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
