-- Schema 2: download statistics.
-- Days are 'YYYY-MM-DD' (UTC); received is Unix microseconds.

-- Downloads per day, object, mirror, country and source, only ever added to.
-- mirror is '' for the hub's fallback host, country '' when unknown.
CREATE TABLE stats_counts (
	day       TEXT    NOT NULL,
	path      TEXT    NOT NULL,
	mirror    TEXT    NOT NULL,
	country   TEXT    NOT NULL,
	source    TEXT    NOT NULL,
	downloads INTEGER NOT NULL,
	PRIMARY KEY (day, path, mirror, country, source)
);
CREATE INDEX stats_counts_by_path ON stats_counts (path, day);

-- Every batch added, so that a batch sent again adds nothing.
CREATE TABLE stats_batches (
	source    TEXT    NOT NULL,
	reporter  TEXT    NOT NULL,
	batch_id  TEXT    NOT NULL,
	received  INTEGER NOT NULL,
	counts    INTEGER NOT NULL,
	downloads INTEGER NOT NULL,
	PRIMARY KEY (source, reporter, batch_id)
);

-- The days each mirror reported counts for.
CREATE TABLE stats_reported (
	mirror TEXT NOT NULL,
	day    TEXT NOT NULL,
	PRIMARY KEY (day, mirror)
);
