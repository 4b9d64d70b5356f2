package main

import "context"

// Placeholders replaced by each command's own file as it lands.
func runServe(ctx context.Context, e *env, args []string) error   { return usagef("not yet") }
