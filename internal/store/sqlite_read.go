package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// latestCTE names each mirror's latest result.
const latestCTE = `WITH latest AS (SELECT mirror, MAX(pass) AS pass FROM mirror_results GROUP BY mirror) `

const accessColumns = `a.mirror, a.pass, a.access, a.url, a.reachable, a.tls_expiry, a.records,
	a.lag_seconds, a.complete, a.ok, a.detail`

func (s *SQLite) LatestResults(ctx context.Context) ([]MirrorResult, error) {
	var out []MirrorResult
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryResults(ctx, tx, latestCTE+`SELECT r.mirror, r.pass, r.checked
			FROM mirror_results r JOIN latest l USING (mirror, pass) ORDER BY r.mirror`)
		if err != nil {
			return err
		}
		byMirror := map[string]*MirrorResult{}
		for i := range out {
			byMirror[out[i].Mirror] = &out[i]
		}
		err = queryAccess(ctx, tx, byMirror, latestCTE+`SELECT `+accessColumns+`
			FROM access_results a JOIN latest l USING (mirror, pass) ORDER BY a.mirror, a.access`)
		if err != nil {
			return err
		}
		return queryProblems(ctx, tx, byMirror)
	})
	if err != nil {
		return nil, fmt.Errorf("latest results: %w", err)
	}
	return out, nil
}

func (s *SQLite) MirrorHistory(ctx context.Context, mirror string, since time.Time) ([]MirrorResult, error) {
	from := normTime(since).UnixMicro()
	var out []MirrorResult
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryResults(ctx, tx, `SELECT mirror, pass, checked FROM mirror_results
			WHERE mirror = ? AND checked >= ? ORDER BY pass`, mirror, from)
		if err != nil {
			return err
		}
		byPass := map[PassID]*MirrorResult{}
		for i := range out {
			byPass[out[i].Pass] = &out[i]
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+accessColumns+` FROM access_results a
			JOIN mirror_results r USING (mirror, pass)
			WHERE r.mirror = ? AND r.checked >= ? ORDER BY a.pass, a.access`, mirror, from)
		if err != nil {
			return err
		}
		if err := scanAccess(rows, func(_ string, pass PassID) *MirrorResult { return byPass[pass] }); err != nil {
			return err
		}
		return scanProblemCounts(ctx, tx, mirror, from, byPass)
	})
	if err != nil {
		return nil, fmt.Errorf("history of mirror %q: %w", mirror, err)
	}
	return out, nil
}

func queryResults(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]MirrorResult, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []MirrorResult{}
	for rows.Next() {
		var r MirrorResult
		var checked sql.NullInt64
		if err := rows.Scan(&r.Mirror, &r.Pass, &checked); err != nil {
			return nil, err
		}
		r.Checked = fromMicros(checked)
		out = append(out, r)
	}
	return out, rows.Err()
}

func queryAccess(ctx context.Context, tx *sql.Tx, byMirror map[string]*MirrorResult, query string) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	return scanAccess(rows, func(mirror string, _ PassID) *MirrorResult { return byMirror[mirror] })
}

// scanAccess appends each access row to the result that find returns.
func scanAccess(rows *sql.Rows, find func(string, PassID) *MirrorResult) error {
	defer rows.Close()
	for rows.Next() {
		var a AccessResult
		var mirror string
		var pass PassID
		var tls, records sql.NullInt64
		var lag int64
		if err := rows.Scan(&mirror, &pass, &a.Access, &a.URL, &a.Reachable, &tls, &records,
			&lag, &a.Complete, &a.OK, &a.Detail); err != nil {
			return err
		}
		a.TLSExpiry = fromMicros(tls)
		a.Lag = time.Duration(lag) * time.Second
		if records.Valid {
			n := records.Int64
			a.Records = &n
		}
		if r := find(mirror, pass); r != nil {
			r.Access = append(r.Access, a)
		}
	}
	return rows.Err()
}

// queryProblems adds each mirror's current problems: those its latest
// result saw.
func queryProblems(ctx context.Context, tx *sql.Tx, byMirror map[string]*MirrorResult) error {
	rows, err := tx.QueryContext(ctx, latestCTE+`SELECT p.mirror, p.access, p.kind, p.path, p.expected, p.got,
		p.first_pass, p.last_pass, p.first_seen, p.last_seen
		FROM problems p JOIN latest l ON p.mirror = l.mirror AND p.last_pass = l.pass
		ORDER BY p.mirror, p.access, p.kind, p.path`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p Problem
		var first, last sql.NullInt64
		if err := rows.Scan(&p.Mirror, &p.Access, &p.Kind, &p.Path, &p.Expected, &p.Got,
			&p.FirstPass, &p.LastPass, &first, &last); err != nil {
			return err
		}
		p.FirstSeen, p.LastSeen = fromMicros(first), fromMicros(last)
		if r := byMirror[p.Mirror]; r != nil {
			r.Problems = append(r.Problems, p)
		}
	}
	return rows.Err()
}

func (s *SQLite) Objects(ctx context.Context, mirror string) ([]ObjectState, error) {
	out := []ObjectState{}
	err := s.EachObject(ctx, mirror, func(o ObjectState) error {
		out = append(out, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *SQLite) EachObject(ctx context.Context, mirror string, fn func(ObjectState) error) error {
	s.strings.reading(mirror)
	if err := s.queryObjects(ctx, `WHERE mirror = ? ORDER BY access, path`, mirror, fn); err != nil {
		return fmt.Errorf("objects of mirror %q: %w", mirror, err)
	}
	return nil
}

func (s *SQLite) ObjectMirrors(ctx context.Context, path string) ([]ObjectState, error) {
	out := []ObjectState{}
	err := s.queryObjects(ctx, `WHERE path = ? ORDER BY mirror, access`, path, func(o ObjectState) error {
		out = append(out, o)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mirrors of object %q: %w", path, err)
	}
	return out, nil
}

// queryObjects calls fn with each object state the where clause (with its
// one argument) selects, until fn returns an error.
func (s *SQLite) queryObjects(ctx context.Context, where string, arg string, fn func(ObjectState) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT mirror, access, path, record, sha256, size,
		size_checked, hash_checked, ok FROM objects `+where, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	var mirror, access, path, sum sql.RawBytes // interned, not kept
	var prev ObjectState
	for rows.Next() {
		var o ObjectState
		var sizeChecked, hashChecked sql.NullInt64
		if err := rows.Scan(&mirror, &access, &path, &o.Record, &sum, &o.Size,
			&sizeChecked, &hashChecked, &o.OK); err != nil {
			return err
		}
		o.Mirror, o.Access = s.strings.same(prev.Mirror, mirror), s.strings.same(prev.Access, access)
		o.Path, o.SHA256 = s.strings.bytes(path), s.strings.bytes(sum)
		prev = o
		o.SizeChecked, o.HashChecked = fromMicros(sizeChecked), fromMicros(hashChecked)
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}
