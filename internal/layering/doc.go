// Package layering holds no code: its test keeps the import rules of
// docs/ARCHITECTURE.md true. Components (publish, mirror, serve, verify,
// check, redirect, get, ...) do not import one another; they share the
// format packages (journal, checkpoint, logdir) and the infrastructure
// packages (safefile, progress, upstream, config, store). Only the hub and
// the command compose components.
package layering
