-- Schema 3 for PostgreSQL: problems of each kind per mirror result.

CREATE TABLE problem_counts (
	mirror TEXT COLLATE "C" NOT NULL,
	pass   BIGINT NOT NULL,
	kind   TEXT COLLATE "C" NOT NULL,
	count  BIGINT NOT NULL CHECK (count > 0),
	PRIMARY KEY (mirror, pass, kind),
	FOREIGN KEY (mirror, pass) REFERENCES mirror_results (mirror, pass) ON DELETE CASCADE
);
