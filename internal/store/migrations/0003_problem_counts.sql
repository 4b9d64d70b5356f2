-- Schema 3: how many problems of each kind every mirror result had, for a
-- mirror's problem history. Results recorded before it have no rows.

CREATE TABLE problem_counts (
	mirror TEXT    NOT NULL,
	pass   INTEGER NOT NULL,
	kind   TEXT    NOT NULL,
	count  INTEGER NOT NULL CHECK (count > 0),
	PRIMARY KEY (mirror, pass, kind),
	FOREIGN KEY (mirror, pass) REFERENCES mirror_results (mirror, pass) ON DELETE CASCADE
);
