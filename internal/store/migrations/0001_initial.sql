-- Schema 1: passes, per-mirror results, problems, object states, meta.
-- Times are Unix microseconds (UTC); NULL where the model has a zero time.

CREATE TABLE passes (
	id       INTEGER PRIMARY KEY,
	started  INTEGER NOT NULL,
	finished INTEGER
);

CREATE TABLE mirror_results (
	pass    INTEGER NOT NULL REFERENCES passes (id) ON DELETE CASCADE,
	mirror  TEXT    NOT NULL,
	checked INTEGER NOT NULL,
	PRIMARY KEY (mirror, pass)
);

CREATE TABLE access_results (
	pass        INTEGER NOT NULL,
	mirror      TEXT    NOT NULL,
	access      TEXT    NOT NULL,
	url         TEXT    NOT NULL,
	reachable   INTEGER NOT NULL,
	tls_expiry  INTEGER,
	records     INTEGER,
	lag_seconds INTEGER NOT NULL,
	complete    REAL    NOT NULL,
	ok          INTEGER NOT NULL,
	detail      TEXT    NOT NULL,
	PRIMARY KEY (mirror, pass, access),
	FOREIGN KEY (mirror, pass) REFERENCES mirror_results (mirror, pass) ON DELETE CASCADE
);

CREATE TABLE problems (
	mirror     TEXT    NOT NULL,
	access     TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	path       TEXT    NOT NULL,
	expected   TEXT    NOT NULL,
	got        TEXT    NOT NULL,
	first_pass INTEGER NOT NULL,
	last_pass  INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (mirror, access, kind, path)
);
CREATE INDEX problems_by_last_pass ON problems (mirror, last_pass);

CREATE TABLE objects (
	mirror       TEXT    NOT NULL,
	access       TEXT    NOT NULL,
	path         TEXT    NOT NULL,
	record       INTEGER NOT NULL,
	sha256       TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	size_checked INTEGER,
	hash_checked INTEGER,
	ok           INTEGER NOT NULL,
	PRIMARY KEY (mirror, access, path)
);
CREATE INDEX objects_by_path ON objects (path);

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
