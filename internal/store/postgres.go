package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// Postgres is a Store in a PostgreSQL database, for several hub or checker
// nodes that share one state. It runs the same statements as SQLite (see
// postgres_conn.go) over its own schema (migrations/postgres), and every
// write transaction is SERIALIZABLE, retried when the server reports a
// conflict with a concurrent one, so that writers see each other as
// SQLite's one-at-a-time writers do.
type Postgres struct {
	*SQLite
}

// migrateLockKey names the advisory lock the schema migration holds, so
// that nodes starting together migrate one after the other.
const migrateLockKey = 0x70616e646f // "pando"

var postgresDialect = dialect{
	migrations:  "migrations/postgres",
	migrateLock: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrateLockKey),
	writeTx:     &sql.TxOptions{Isolation: sql.LevelSerializable},
	retry:       serializationFailure,
}

// OpenPostgres connects to the database dsn names (a postgres:// URL or a
// key=value string, as libpq reads them) and brings its schema up to date.
// The error names the server, never the password.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	conn, err := newRebindConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, db, postgresDialect); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Postgres{&SQLite{db: db, d: postgresDialect}}, nil
}

// serializationFailure reports whether err is PostgreSQL's request to run
// a transaction again: a serialization failure or a deadlock.
func serializationFailure(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
