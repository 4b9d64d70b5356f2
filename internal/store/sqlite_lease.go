package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

func (s *SQLite) Lease(ctx context.Context, name, holder string, now, until time.Time) (string, error) {
	if err := checkLease(name, holder, now, until); err != nil {
		return "", err
	}
	var current string
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO leases (name, holder, expires) VALUES (?1, ?2, ?4)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
			WHERE leases.holder = excluded.holder OR leases.expires <= ?3`,
			name, holder, normTime(now).UnixMicro(), normTime(until).UnixMicro())
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT holder FROM leases WHERE name = ?`, name).Scan(&current)
	})
	if err != nil {
		return "", fmt.Errorf("lease %q: %w", name, err)
	}
	return current, nil
}
