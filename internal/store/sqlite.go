package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SQLite is a Store in an SQLite database file, in WAL mode so that readers
// (the hub) never wait for the writer (the checker). Several processes may
// open the same file; writers take turns, waiting up to busyTimeout.
type SQLite struct {
	db      *sql.DB
	d       dialect
	strings interner // of the object states read
}

// A dialect is what differs between the SQL databases the store runs on;
// the statements themselves are the same (see postgres_conn.go).
type dialect struct {
	migrations  string           // the directory of its migrations
	migrateLock string           // run first in the migration transaction
	writeTx     *sql.TxOptions   // how a write transaction begins
	retry       func(error) bool // whether a failed write transaction may be run again
}

var sqliteDialect = dialect{migrations: "migrations", retry: func(error) bool { return false }}

// maxTxAttempts bounds how often a write transaction is run when the
// database asks for it to be retried (PostgreSQL's serialization failures).
const maxTxAttempts = 10

const busyTimeout = 10 * time.Second

// OpenSQLite opens the database file path, creating it and its directory
// if missing, and brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite database %q: want a plain file name", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sqlite database %s: %w", path, err)
	}
	// Every write transaction begins IMMEDIATE: it takes the write lock at
	// once (waiting for it), instead of failing when a read turns into a
	// write while another connection writes.
	dsn := path + "?_txlock=immediate" +
		fmt.Sprintf("&_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()) +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite database %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	if err := migrate(ctx, db, sqliteDialect); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite database %s: %w", path, err)
	}
	return &SQLite{db: db, d: sqliteDialect}, nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// write runs fn in a write transaction and commits it if fn succeeds. A
// transaction the database refused to serialize with another is run again
// from the start: fn must do nothing but through tx.
func (s *SQLite) write(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.inTx(ctx, s.d.writeTx, fn)
		if err == nil || attempt == maxTxAttempts || !s.d.retry(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt) * time.Millisecond)
	}
}

// read runs fn in a read transaction, so it sees one consistent state.
func (s *SQLite) read(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.inTx(ctx, &sql.TxOptions{ReadOnly: true}, fn)
}

func (s *SQLite) inTx(ctx context.Context, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// micros is t in Unix microseconds, NULL for the zero time.
func micros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

func (s *SQLite) BeginPass(ctx context.Context, started time.Time) (PassID, error) {
	if started.IsZero() {
		return 0, errors.New("begin pass: start time missing")
	}
	var id PassID
	err := s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO passes (started) VALUES (?) RETURNING id`,
			micros(normTime(started))).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("begin pass: %w", err)
	}
	return id, nil
}

func (s *SQLite) FinishPass(ctx context.Context, pass PassID, finished time.Time) error {
	if finished.IsZero() {
		return fmt.Errorf("finish pass %d: finish time missing", pass)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE passes SET finished = ? WHERE id = ?`, micros(normTime(finished)), pass)
		if err != nil {
			return fmt.Errorf("finish pass %d: %w", pass, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("pass %d: %w", pass, ErrNotFound)
		}
		return nil
	})
}

func (s *SQLite) Passes(ctx context.Context, limit int) ([]Pass, error) {
	query, args := `SELECT id, started, finished FROM passes ORDER BY id DESC`, []any{}
	if limit > 0 {
		query, args = query+` LIMIT ?`, append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list passes: %w", err)
	}
	defer rows.Close()
	var out []Pass
	for rows.Next() {
		var p Pass
		var started, finished sql.NullInt64
		if err := rows.Scan(&p.ID, &started, &finished); err != nil {
			return nil, fmt.Errorf("list passes: %w", err)
		}
		p.Started, p.Finished = fromMicros(started), fromMicros(finished)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list passes: %w", err)
	}
	return out, nil
}

func (s *SQLite) GetMeta(ctx context.Context, key string) ([]byte, error) {
	if err := checkMetaKey(key); err != nil {
		return nil, err
	}
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("meta %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("meta %q: %w", key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func (s *SQLite) PutMeta(ctx context.Context, key string, value []byte) error {
	if err := checkMetaKey(key); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		if err != nil {
			return fmt.Errorf("meta %q: %w", key, err)
		}
		return nil
	})
}
