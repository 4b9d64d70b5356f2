// Package stats owns download statistics end to end: reading a mirror's web
// server log, reporting it to the hub, the hub's intake of those reports and
// its own count of redirects, and the totals it serves. docs/STATS.md is the
// operator's guide; this comment is the contract.
//
// # Reading a log
//
// Parser reads the combined and common log formats (Apache, nginx, and
// pando serve, which writes combined) without regular expressions and
// without allocating per line. A line counts as a download when it is a GET
// answered 200 (and, with CountPartial, 206) of a path that can name a
// published object: not the root or a directory, not under .pando/, not
// climbing out of the tree, and not pando's own machine traffic (the
// checker's hash checks and mirror syncs, told by their user agent). Lines that do not parse are counted as
// malformed and skipped; every line gets an Outcome.
//
// Ingest reads a log incrementally. A state file keeps the file's identity
// (device, inode, SHA-256 of its first KiB) and the offset reached, so a run
// continues where the last one stopped, finishes a rotated file (FILE.1 to
// FILE.9, or a copytruncate copy) before starting the new one, and starts
// over when the file was truncated. Memory is bounded: counts are held per
// day and path, and sent as a batch whenever DefaultMaxCounts of them are
// held. Delivery is at least once: a batch is written to the state file as
// pending before it is sent and the offset moves past it only once the hub
// acknowledged it, and a run after a crash resends exactly the pending
// bytes under the same batch ID, which the hub counts once.
//
// # The report: POST /api/v1/stats, version 1
//
// A mirror reports with its token from hub.toml:
//
//	POST /api/v1/stats
//	Authorization: Bearer s3cret
//	Content-Type: application/json
//
//	{"mirror": "fau", "batch_id": "v1-0f1e...",
//	 "counts": [{"day": "2026-11-23", "path": "pool/a-1.0.jar", "downloads": 12},
//	            {"day": "2026-11-23", "path": "iso/t.iso", "country": "DE", "downloads": 3}]}
//
// mirror is the reporting mirror's name in the registry; the token must be
// that mirror's own. batch_id is 1 to 128 letters, digits and . _ : -,
// unique per mirror; a batch with an ID the mirror used before is answered
// "already counted" and adds nothing. Each count is downloads (1 to 2^40)
// of one object (a path as journal.CheckPath allows) on one day (UTC,
// 2000-01-01 to tomorrow), optionally from one country; a day, path and
// country appear at most once. At most MaxBatchCounts counts and
// MaxBatchBytes bytes; no other fields. A batch is stored whole or not at
// all. See IntakeHandler for the answers.
//
// # Totals
//
// The hub counts the redirects it answers (Counter). A redirected download
// also shows in the mirror's log, so totals follow one rule (Counted): a
// mirror's own report counts; the hub's redirects to a mirror count only on
// days that mirror reported nothing. QueryHandler and CSVHandler serve the
// totals.
package stats
