-- Schema 4 for PostgreSQL: leases, as in the SQLite schema.

CREATE TABLE leases (
	name    TEXT COLLATE "C" PRIMARY KEY,
	holder  TEXT COLLATE "C" NOT NULL,
	expires BIGINT NOT NULL
);
