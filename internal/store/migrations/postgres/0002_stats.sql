-- Schema 2 for PostgreSQL: download statistics, as in the SQLite schema.
-- Days are 'YYYY-MM-DD' (UTC); received is Unix microseconds.

CREATE TABLE stats_counts (
	day       TEXT COLLATE "C" NOT NULL,
	path      TEXT COLLATE "C" NOT NULL,
	mirror    TEXT COLLATE "C" NOT NULL,
	country   TEXT COLLATE "C" NOT NULL,
	source    TEXT COLLATE "C" NOT NULL,
	downloads BIGINT NOT NULL,
	PRIMARY KEY (day, path, mirror, country, source)
);
CREATE INDEX stats_counts_by_path ON stats_counts (path, day);

CREATE TABLE stats_batches (
	source    TEXT COLLATE "C" NOT NULL,
	reporter  TEXT COLLATE "C" NOT NULL,
	batch_id  TEXT COLLATE "C" NOT NULL,
	received  BIGINT NOT NULL,
	counts    BIGINT NOT NULL,
	downloads BIGINT NOT NULL,
	PRIMARY KEY (source, reporter, batch_id)
);

CREATE TABLE stats_reported (
	mirror TEXT COLLATE "C" NOT NULL,
	day    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (day, mirror)
);
