package store

import (
	"slices"
	"testing"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE x = ? AND y = ?", "SELECT a FROM t WHERE x = $1 AND y = $2"},
		{"VALUES (?1, ?2, ?1, ?10)", "VALUES ($1, $2, $1, $10)"},
		{"?2 then ?", "$2 then $3"}, // a bare ? follows the largest number so far, as in SQLite
		{"x = '?' AND y = ?", "x = '?' AND y = $1"},
		{`"we?ird" = ? `, `"we?ird" = $1 `},
		{"it''s ? and '' ?", "it''s $1 and '' $2"},
		{"unterminated '? ?", "unterminated '? ?"},
		{"LIMIT ?", "LIMIT $1"},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzRebind(f *testing.F) {
	for _, s := range []string{"x = ? AND y = ?3", "'?' \"?\" ?", "??1?22?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out := rebind(q)
		// Nothing but placeholders changes: without ? the text is the same.
		if !slices.Contains([]byte(q), '?') && out != q {
			t.Fatalf("rebind(%q) = %q changed a text without placeholders", q, out)
		}
	})
}

// TestMigrationsHaveTwins: every schema change exists for both databases
// under the same name, so both stores are at the same version.
func TestMigrationsHaveTwins(t *testing.T) {
	lite, err := loadMigrations(sqliteDialect.migrations)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations(postgresDialect.migrations)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []migration) (out []string) {
		for _, m := range ms {
			out = append(out, m.name)
		}
		return out
	}
	if !slices.Equal(names(lite), names(pg)) {
		t.Errorf("sqlite migrations %v, postgres %v: want the same", names(lite), names(pg))
	}
}
