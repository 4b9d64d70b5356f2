-- Schema 4: leases, so that of several hubs sharing a store one checks the
-- mirrors and the others follow its results. expires is Unix microseconds.

CREATE TABLE leases (
	name    TEXT    PRIMARY KEY,
	holder  TEXT    NOT NULL,
	expires INTEGER NOT NULL
);
